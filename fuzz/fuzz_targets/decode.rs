//! Any text frame: the decoder must not panic, every rejection must carry the raw frame, and
//! every decoded event must append to its table and restore to JSON.
#![no_main]

use dss_lake_frame::{Frame, FrameDecoder, TableBuilder, restore::restore_row};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = std::str::from_utf8(data) else { return };
    let mut decoder = FrameDecoder::new();
    match decoder.decode_message(message) {
        Ok(Frame::Event(event)) => {
            let table = event.table();
            let mut builder = TableBuilder::new(table, 1);
            builder.append(&event, "fuzz", 0).expect("event goes to its own table");
            let batch = builder.finish();
            restore_row(table, &batch, 0).expect("a stored row restores");
        }
        Ok(Frame::Heartbeat) => {}
        Err(rejected) => assert_eq!(rejected.raw, message),
    }
});
