//! Topics of the loopback load tools' generated memories and queries
//! (shared by memory-bench and memory-load).

pub const TOPICS: [&str; 8] = [
    "hiking in the alps",
    "vegetarian cooking",
    "jazz piano lessons",
    "a trip to Japan",
    "learning Rust",
    "marathon training",
    "the garden tomatoes",
    "a new job at Acme",
];
