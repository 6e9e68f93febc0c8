//! When things happen: the planned daily volume (growth, weekly and yearly seasonality, noise),
//! the hour of day, and how slow responses are on weekends.

use rand::Rng;
use rand_distr::StandardNormal;

pub(crate) const DAY: i64 = 86_400;

/// Weekday of an epoch day, 0 = Monday.
pub(crate) fn weekday(epoch_day: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    (epoch_day + 3).rem_euclid(7) as u32
}

pub(crate) fn is_weekend(epoch_day: i64) -> bool {
    weekday(epoch_day) >= 5
}

/// Relative volume by weekday: weekends are quieter (real chat and lists: 0.4–0.7 of a weekday).
const WEEKLY: [f64; 7] = [1.05, 1.1, 1.1, 1.05, 0.95, 0.55, 0.5];

/// Relative activity by UTC hour: a global community peaking in the European afternoon, which
/// is the American morning.
const HOURLY: [f64; 24] = [
    0.35, 0.3, 0.25, 0.22, 0.22, 0.28, 0.4, 0.6, 0.8, 0.95, 1.05, 1.1, 1.15, 1.25, 1.35, 1.4, 1.4,
    1.3, 1.2, 1.05, 0.9, 0.75, 0.6, 0.45,
];

/// Yearly pattern: holidays in late December and August are quiet, September–October busy.
fn yearly(day_of_year: f64) -> f64 {
    let m = day_of_year / 30.44; // month-ish, 0-based
    let mut f = 1.0 + 0.08 * ((m - 8.5) / 12.0 * std::f64::consts::TAU).cos();
    if !(4.0..355.0).contains(&day_of_year) {
        f *= 0.6;
    } else if (213.0..243.0).contains(&day_of_year) {
        f *= 0.85;
    }
    f
}

/// The planned volume of each simulated day.
pub(crate) struct Plan {
    /// Target count of activities landed by the end of each day; the last is the total.
    pub cumulative: Vec<u64>,
    /// Expected activities of each day.
    pub daily: Vec<f64>,
}

/// The plan: cumulative target volume at the end of each simulated day, summing to the total.
pub(crate) fn plan<R: Rng>(rng: &mut R, first_epoch_day: i64, days: u32, total: u64) -> Plan {
    let n = f64::from(days);
    let mut raw: Vec<f64> = (0..days)
        .map(|d| {
            let t = f64::from(d) / n;
            // Growth: a fifth of the final volume at the start, rising, slowing down.
            let growth = 0.2 + 0.8 * t.powf(0.8);
            let epoch_day = first_epoch_day + i64::from(d);
            let doy = (epoch_day.rem_euclid(1461) as f64 + 0.5) % 365.25;
            let noise = (0.12 * rng.sample::<f64, _>(StandardNormal)).exp();
            growth * WEEKLY[weekday(epoch_day) as usize] * yearly(doy) * noise
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    for r in &mut raw {
        *r *= total as f64 / sum;
    }
    let mut acc = 0.0;
    let mut cumulative: Vec<u64> = raw
        .iter()
        .map(|r| {
            acc += r;
            acc.round() as u64
        })
        .collect();
    if let Some(last) = cumulative.last_mut() {
        *last = total;
    }
    Plan {
        cumulative,
        daily: raw,
    }
}

/// A second of the day drawn from the hourly profile.
pub(crate) fn second_of_day<R: Rng>(rng: &mut R) -> i64 {
    let total: f64 = HOURLY.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (h, w) in HOURLY.iter().enumerate() {
        if u < *w {
            return h as i64 * 3600 + rng.random_range(0..3600);
        }
        u -= w;
    }
    23 * 3600 + rng.random_range(0..3600)
}

/// A log-normal delay in seconds with the given median (seconds) and spread.
pub(crate) fn delay<R: Rng>(rng: &mut R, median_secs: f64, sigma: f64) -> i64 {
    let z: f64 = rng.sample(StandardNormal);
    (median_secs * (sigma * z).exp()).max(1.0) as i64
}
