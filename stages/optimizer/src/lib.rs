//! xbar-opt's optimiser, a crate of its own that knows nothing of crossbars or DNNs:
//! surrogate GPs, posterior samples, the CF-MESMO step, its baselines and
//! the math under them (normal-distribution functions, hypervolume and Pareto filtering,
//! NSGA-II, the MESMO / CF-MESMO acquisition, our hypervolume gain, space-filling
//! samplers), plus synthetic
//! multi-fidelity benchmark problems.

pub mod acquisition;
pub mod benchmark;
pub mod candidates;
pub mod cf_mesmo;
pub mod cost;
pub mod gp;
pub mod gp_map;
pub mod hv_gain;
pub mod hypervolume;
pub mod kriging;
pub mod lbfgs;
mod linalg;
pub mod normal;
pub mod nsga2;
pub mod pareto_gain;
pub mod problem;
pub mod published;
pub mod rff;
pub mod sampling;
pub mod strategy;
pub mod synthetic;
pub mod tabulated;
