//! Which instruction sets the CPU kernels may use: what the CPU has, capped by the
//! `STANCE_CPU_LEVEL` environment variable (`avx512`, `avx2` or `baseline`). The cap lets one
//! machine measure what a CPU with fewer features gets; results do not depend on it beyond
//! f32 rounding (int8 sums are exact on every kernel).

use std::sync::OnceLock;

/// Instruction-set levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No kernel beyond the target's baseline: candle's matmul for f32, the portable int8 one.
    Baseline,
    Avx2,
    Avx512,
}

impl Level {
    const VARIABLE: &str = "STANCE_CPU_LEVEL";

    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "baseline" => Some(Self::Baseline),
            "avx2" => Some(Self::Avx2),
            "avx512" => Some(Self::Avx512),
            _ => None,
        }
    }

    /// Whether kernels of this level may run (the CPU's own features are checked apart).
    pub fn allowed(self) -> bool {
        static CEILING: OnceLock<Level> = OnceLock::new();
        self <= *CEILING.get_or_init(|| match std::env::var(Self::VARIABLE) {
            Ok(value) => Self::parse(&value).unwrap_or_else(|| {
                tracing::warn!("ignoring {}={value:?}: expected avx512, avx2 or baseline", Self::VARIABLE);
                Self::Avx512
            }),
            Err(_) => Self::Avx512,
        })
    }

    /// The highest level both this CPU has and the cap allows, for code compiled per level.
    pub fn detected() -> Self {
        static DETECTED: OnceLock<Level> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            [Self::Avx512, Self::Avx2]
                .into_iter()
                .find(|level| level.allowed() && level.on_this_cpu())
                .unwrap_or(Self::Baseline)
        })
    }

    fn on_this_cpu(self) -> bool {
        match self {
            Self::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx2 | Self::Avx512 => false,
        }
    }
}

/// The size in bytes of this CPU's level-2 data cache per core, from Linux's sysfs (what the
/// kernel read from CPUID or the device tree), or `None` where it does not say.
pub fn l2_cache_bytes() -> Option<usize> {
    static L2: OnceLock<Option<usize>> = OnceLock::new();
    *L2.get_or_init(|| {
        let caches = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
        caches.flatten().find_map(|entry| {
            let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok();
            let is_l2 = read("level")?.trim() == "2" && read("type")?.trim() != "Instruction";
            is_l2.then(|| parse_cache_size(&read("size")?)).flatten()
        })
    })
}

/// sysfs writes cache sizes as `1280K` or `2M`.
fn parse_cache_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let unit = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        _ => return None,
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// Defines `$name(level, args…)`, running `$body` compiled for `level`'s instruction set (the
/// CPU must have it: see [`Level::detected`]), for code the compiler vectorizes. `$body`
/// calls `#[inline(always)]` code only, so all of it is compiled with the level's features.
macro_rules! per_level {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$attr])*
        $vis fn $name(level: $crate::model::candle::cpu::Level, $($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                match level {
                    // SAFETY: the caller passes a level the CPU has.
                    $crate::model::candle::cpu::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::model::candle::cpu::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::model::candle::cpu::Level::Baseline => {}
                }
            }
            let _ = level;
            body($($arg),*)
        }
    };
}
pub(super) use per_level;

#[cfg(test)]
mod tests {
    use super::{parse_cache_size, Level};

    #[test]
    fn reads_sysfs_cache_sizes() {
        assert_eq!(parse_cache_size("1280K\n"), Some(1280 << 10));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("1G"), None);
        assert_eq!(parse_cache_size(""), None);
    }

    #[test]
    fn parses_the_documented_names_only() {
        assert_eq!(Level::parse(" AVX2 "), Some(Level::Avx2));
        assert_eq!(Level::parse("avx512"), Some(Level::Avx512));
        assert_eq!(Level::parse("baseline"), Some(Level::Baseline));
        assert_eq!(Level::parse("sse4"), None);
        assert!(Level::Baseline < Level::Avx2 && Level::Avx2 < Level::Avx512);
    }
}
