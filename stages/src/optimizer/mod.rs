//! Pure-math building blocks of the CF-MESMO optimiser: normal-distribution functions,
//! hypervolume and Pareto filtering, NSGA-II, the MESMO / CF-MESMO acquisition,
//! space-filling samplers and multi-fidelity synthetic benchmark problems.

pub mod acquisition;
pub mod hypervolume;
pub mod normal;
pub mod nsga2;
pub mod sampling;
pub mod synthetic;
