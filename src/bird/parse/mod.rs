//! Pure parsers from a [`Reply`](super::reply::Reply) to typed values.
//!
//! None of them does I/O or reads the clock, and none may panic, whatever the input: malformed
//! input gives a [`ParseError`] or, for optional details, a missing field.

mod channel;
mod common;
mod config_error;
mod configure;
#[cfg(test)]
mod fuzz_tests;
mod protocol_details;
mod protocols;
mod route;
mod status;
mod time;

pub use channel::{ChangeStats, Channel, RouteCounts};
pub use common::ParseError;
pub use config_error::{ConfigErrorAt, parse_config_error};
pub use configure::{ConfigureOutcome, parse_configure};
pub use protocol_details::{BgpDetails, ProtocolDetails, parse_show_protocols_all};
pub use protocols::{ProtocolRow, parse_protocol_row, parse_show_protocols};
pub use route::{RouteEntry, RoutePath, parse_show_route, route_query};
pub use status::{Status, parse_show_status};
pub use time::{BirdDateTime, BirdTime, Date, TimeOfDay, parse_bird_time};
