//! Captured BIRD 2.0.12 replies (exact bytes, greeting excluded) shared by the module's tests.
//!
//! The files live in `tests/fixtures/bird/`; their origin is described in the README there.

use super::reply::Reply;

macro_rules! fixture {
    ($name:ident, $file:literal) => {
        pub(crate) const $name: &[u8] = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bird/",
            $file
        ));
    };
}

fixture!(SHOW_STATUS, "show_status.raw");
fixture!(SHOW_STATUS_GR, "show_status_graceful_restart.raw");
fixture!(SHOW_PROTOCOLS, "show_protocols.raw");
fixture!(SHOW_PROTOCOLS_ISOLONG, "show_protocols_isolong.raw");
fixture!(SHOW_PROTOCOLS_EPOCH, "show_protocols_epoch.raw");
fixture!(SHOW_PROTOCOLS_ALL, "show_protocols_all.raw");
fixture!(
    SHOW_PROTOCOLS_ALL_C,
    "c_show_protocols_all_received_bad_peer_as.raw"
);
fixture!(SHOW_PROTOCOLS_ALL_PEER_B, "show_protocols_all_peer_b.raw");
fixture!(
    SHOW_PROTOCOLS_ALL_FLUSH,
    "show_protocols_all_peer_b_flush.raw"
);
fixture!(
    SHOW_PROTOCOLS_ALL_MESSAGE,
    "show_protocols_all_peer_b_message.raw"
);
fixture!(SHOW_ROUTE_COUNT, "show_route_count.raw");
fixture!(SHOW_ROUTE_PROTOCOL_COUNT, "show_route_protocol_count.raw");
fixture!(SHOW_ROUTE_ALL_FOR, "show_route_all_for.raw");
fixture!(CONFIGURE_RECONFIGURED, "configure_reconfigured.raw");
fixture!(CONFIGURE_IN_PROGRESS, "configure_in_progress.raw");
fixture!(CONFIGURE_BROKEN, "configure_broken.raw");
fixture!(CONFIGURE_CHECK_OK, "configure_check_ok.raw");
fixture!(CONFIGURE_CHECK_BAD, "configure_check_bad.raw");
fixture!(CONFIGURE_CHECK_MISSING, "configure_check_missing.raw");
fixture!(CONFIGURE_TIMEOUT, "configure_timeout.raw");
fixture!(CONFIGURE_CONFIRM, "configure_confirm.raw");
fixture!(CONFIGURE_CONFIRM_NOTHING, "configure_confirm_nothing.raw");
fixture!(CONFIGURE_UNDO, "configure_undo.raw");
fixture!(CONFIGURE_UNDO_NOTHING, "configure_undo_nothing.raw");
fixture!(CONFIGURE_STATUS, "configure_status.raw");
fixture!(
    CONFIGURE_STATUS_UNCONFIRMED,
    "configure_status_unconfirmed.raw"
);
fixture!(DISABLE, "disable.raw");
fixture!(DISABLE_ALREADY, "disable_already.raw");
fixture!(DISABLE_NOMATCH, "disable_nomatch.raw");
fixture!(ENABLE, "enable.raw");
fixture!(ENABLE_ALREADY, "enable_already.raw");
fixture!(RESTART_WITH_ECHO, "restart_with_echo.raw");
fixture!(ACCESS_DENIED, "access_denied.raw");
fixture!(SYNTAX_ERROR, "syntax_error.raw");

/// Every fixture, for tests that run over all captures.
pub(super) const ALL: &[&[u8]] = &[
    SHOW_STATUS,
    SHOW_STATUS_GR,
    SHOW_PROTOCOLS,
    SHOW_PROTOCOLS_ISOLONG,
    SHOW_PROTOCOLS_EPOCH,
    SHOW_PROTOCOLS_ALL,
    SHOW_PROTOCOLS_ALL_C,
    SHOW_PROTOCOLS_ALL_PEER_B,
    SHOW_PROTOCOLS_ALL_FLUSH,
    SHOW_PROTOCOLS_ALL_MESSAGE,
    SHOW_ROUTE_COUNT,
    SHOW_ROUTE_PROTOCOL_COUNT,
    SHOW_ROUTE_ALL_FOR,
    CONFIGURE_RECONFIGURED,
    CONFIGURE_IN_PROGRESS,
    CONFIGURE_BROKEN,
    CONFIGURE_CHECK_OK,
    CONFIGURE_CHECK_BAD,
    CONFIGURE_CHECK_MISSING,
    CONFIGURE_TIMEOUT,
    CONFIGURE_CONFIRM,
    CONFIGURE_CONFIRM_NOTHING,
    CONFIGURE_UNDO,
    CONFIGURE_UNDO_NOTHING,
    CONFIGURE_STATUS,
    CONFIGURE_STATUS_UNCONFIRMED,
    DISABLE,
    DISABLE_ALREADY,
    DISABLE_NOMATCH,
    ENABLE,
    ENABLE_ALREADY,
    RESTART_WITH_ECHO,
    ACCESS_DENIED,
    SYNTAX_ERROR,
];

/// Parses a fixture that holds exactly one reply.
pub(super) fn reply(bytes: &[u8]) -> Reply {
    Reply::from_bytes(bytes).expect("fixture holds one complete reply")
}
