//! The one RNG every initializer draws from.

use rand::SeedableRng;

/// The RNG of every initializer: ChaCha with 8 rounds.
///
/// ChaCha is specified bit for bit, so unlike `StdRng` (whose algorithm may
/// change between `rand` releases) or `SmallRng` (platform dependent), the same
/// seed gives the same stream on every machine and every backend.
pub type InitRng = rand_chacha::ChaCha8Rng;

/// Seeded portable RNG; same seed → same stream on every machine.
///
/// This is `ChaCha8Rng::seed_from_u64(seed)`.
pub fn init_rng(seed: u64) -> InitRng {
    InitRng::seed_from_u64(seed)
}
