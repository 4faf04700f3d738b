//! The twin views every user needs, defined in SQL files next to this one (`views/*.sql`) so
//! the DuckDB comparison in the tests and the benchmark reads the very same definitions.
//!
//! "Latest" means the greatest event time (the first non-null of the table's event-time columns,
//! else `received_at`), ties broken by `seq`, so a replayed or late event lands where its own
//! timestamp puts it, not where it arrived.
//!
//! - `twin_latest`: the latest value of each property of each device, with its time (`value_time`)
//!   and numeric value.
//! - `device_status`: each device's latest connectivity state, since when it has been in it
//!   (the first event of the current run of that state), and when it was last heard of.
//! - `device_location`: each device's latest reported position.

/// `(name, SQL)` of every view, in creation order.
pub(crate) const VIEWS: [(&str, &str); 3] = [
    ("twin_latest", include_str!("views/twin_latest.sql")),
    ("device_status", include_str!("views/device_status.sql")),
    ("device_location", include_str!("views/device_location.sql")),
];
