//! A fake BIRD for client tests: a UNIX listener in a temp dir that sends a greeting and
//! answers each received command with captured bytes.

use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::task::JoinHandle;

use super::client::Client;

/// The greeting of the BIRD version the captures come from.
pub(super) const GREETING: &[u8] = b"0001 BIRD 2.0.12 ready.\n";
/// Time limit for connecting and reading the greeting.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the fake server does after reading one command.
pub(super) enum Step {
    /// Write these chunks one by one, yielding in between.
    Answer(Vec<Vec<u8>>),
    /// Write these bytes, then close the connection.
    AnswerAndClose(Vec<u8>),
    /// Never answer.
    Silence,
}

/// Answer with `bytes` in one write.
pub(super) fn answer(bytes: &[u8]) -> Step {
    Step::Answer(vec![bytes.to_vec()])
}

/// Answer with `bytes` in writes of `size` bytes.
pub(super) fn answer_in_chunks(bytes: &[u8], size: usize) -> Step {
    Step::Answer(bytes.chunks(size).map(<[u8]>::to_vec).collect())
}

/// A fake BIRD serving one connection from a script of [`Step`]s.
pub(super) struct FakeBird {
    _dir: TempDir,
    /// The socket path.
    pub path: PathBuf,
    /// Resolves to the commands received, once the script is done.
    server: JoinHandle<Vec<String>>,
}

impl FakeBird {
    /// Listens on `bird.ctl` in a fresh temp dir; the first connection gets `greeting`, then
    /// one step per command received.
    pub(super) fn start(greeting: &'static [u8], steps: Vec<Step>) -> FakeBird {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bird.ctl");
        let listener = UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            stream.get_mut().write_all(greeting).await.unwrap();
            let mut received = Vec::new();
            for step in steps {
                let mut line = String::new();
                if stream.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                received.push(line.trim_end_matches('\n').to_string());
                match step {
                    Step::Answer(chunks) => {
                        for chunk in chunks {
                            stream.get_mut().write_all(&chunk).await.unwrap();
                            stream.get_mut().flush().await.unwrap();
                            tokio::task::yield_now().await;
                        }
                    }
                    Step::AnswerAndClose(bytes) => {
                        stream.get_mut().write_all(&bytes).await.unwrap();
                        return received;
                    }
                    Step::Silence => std::future::pending::<()>().await,
                }
            }
            received
        });
        FakeBird {
            _dir: dir,
            path,
            server,
        }
    }

    /// Connects a client, panicking on failure.
    pub(super) async fn connect(&self) -> Client {
        Client::connect(&self.path, CONNECT_TIMEOUT).await.unwrap()
    }

    /// Closes the client and returns the commands the server received.
    pub(super) async fn received(self, client: Client) -> Vec<String> {
        drop(client);
        self.server.await.unwrap()
    }
}
