//! The decoder meets the network's worst: 120k random and mutated frames, no panic, and every
//! rejection carries the raw frame for quarantine.

use dss_lake_frame::{Frame, FrameDecoder, TableBuilder};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEEDS: usize = 2_000;
const MUTATIONS_PER_SEED: usize = 50;
const RANDOM_FRAMES: usize = 20_000;

fn mutate(frame: &str, rng: &mut ChaCha8Rng) -> String {
    let mut bytes = frame.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..6) {
            0 => bytes[at] = rng.random(),
            1 => bytes.truncate(at),
            2 => {
                let structural = b"{}[]\":,|Z\\0-e.";
                bytes.insert(at, structural[rng.random_range(0..structural.len())]);
            }
            3 => {
                bytes.remove(at);
            }
            4 => {
                let end = rng.random_range(at..bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => bytes[at] = b'|',
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_frame(rng: &mut ChaCha8Rng) -> String {
    let len = rng.random_range(0..64);
    let alphabet = "{}[]\":,|Z0123456789.-eE truefalsnul\\\"é😀\u{0}";
    let chars: Vec<char> = alphabet.chars().collect();
    let body: String = (0..len)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect();
    match rng.random_range(0..3) {
        0 => body,
        1 => format!("{}|{body}", body.len()),
        _ => format!("{}|{{{body}}}", rng.random_range(0..100)),
    }
}

#[test]
fn random_and_mutated_frames_never_panic_and_rejections_keep_the_raw_frame() {
    let corpus = dss_lake_fleet::corpus(7, SEEDS);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut decoder = FrameDecoder::new();
    let mut builders: Vec<_> = dss_lake_schema::Table::EVENTS
        .iter()
        .map(|&t| TableBuilder::new(t, 1024))
        .collect();
    let (mut events, mut rejected, mut heartbeats) = (0usize, 0usize, 0usize);

    let mutated = corpus
        .iter()
        .flat_map(|f| std::iter::repeat_n(f, MUTATIONS_PER_SEED))
        .map(|f| mutate(f, &mut rng))
        .collect::<Vec<_>>();
    let random = (0..RANDOM_FRAMES)
        .map(|_| random_frame(&mut rng))
        .collect::<Vec<_>>();
    for frame in mutated.iter().chain(&random).chain(&corpus) {
        match decoder.decode_message(frame) {
            Ok(Frame::Event(event)) => {
                events += 1;
                let builder = builders
                    .iter_mut()
                    .find(|b| b.table() == event.table())
                    .unwrap();
                builder.append(&event, "fuzz", 0).unwrap();
            }
            Ok(Frame::Heartbeat) => heartbeats += 1,
            Err(rejected_frame) => {
                rejected += 1;
                assert_eq!(rejected_frame.raw, frame.as_str());
                assert!(!rejected_frame.error.kind().is_empty());
            }
        }
    }
    for builder in &mut builders {
        let batch = builder.finish();
        assert!(batch.num_rows() <= events);
    }
    let total = mutated.len() + random.len() + corpus.len();
    assert!(total >= 100_000, "only {total} frames");
    assert_eq!(events + rejected + heartbeats, total);
    // Mutations must both break frames and leave some intact, or the test proves nothing.
    assert!(events > SEEDS, "{events} events");
    assert!(rejected > total / 4, "{rejected} rejected");
}
