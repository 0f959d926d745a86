//! CMOS technology constants for the supported nodes: supply, gate capacitance per
//! width, on and off currents from 300 K to 400 K.
//!
//! Source: the PTM bulk models (Predictive Technology Model, ptm.asu.edu) as tabulated by
//! DNN+NeuroSim V1.3 (`Technology.cpp`): 130, 90, 65, 45, 32 and 22 nm, high-performance
//! (HP) and low-standby-power (LSTP) devices. The effective-resistance multipliers come
//! from CACTI through NeuroSim. Currents are per unit width (A/m, i.e. uA/um), tabulated
//! every 10 K and interpolated linearly at whole kelvins, as NeuroSim does. The junction
//! capacitances are BSIM4's defaults at the node's supply (NeuroSim's values).
//! FinFET nodes (14 nm and below) are not modelled.

use serde::{Deserialize, Serialize};

/// The transistor flavour of the periphery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Roadmap {
    /// High-performance devices: fast, leaky.
    Hp,
    /// Low-standby-power devices: NeuroSim's default (`deviceroadmap = 2`).
    #[default]
    Lstp,
}

/// One node's tabulated constants.
struct Table {
    node_nm: u32,
    roadmap: Roadmap,
    vdd: f64,
    gate_length: f64,
    cap_ideal_gate: f64,
    cap_fringe: f64,
    resistance_multiplier: f64,
    on_n: [f64; 11],
    on_p: [f64; 11],
    off_n: [f64; 11],
    off_p: [f64; 11],
}

#[rustfmt::skip]
const TABLES: &[Table] = &[
    Table {
        node_nm: 130,
        roadmap: Roadmap::Hp,
        vdd: 1.3,
        gate_length: 7.5e-08,
        cap_ideal_gate: 6.058401e-10,
        cap_fringe: 6.119807e-10,
        resistance_multiplier: 1.54,
        on_n: [930.0, 910.0, 890.0, 870.0, 850.0, 830.0, 810.0, 790.0, 770.0, 750.0, 740.0],
        on_p: [430.0, 410.0, 380.0, 360.0, 340.0, 320.0, 300.0, 280.0, 260.0, 250.0, 240.0],
        off_n: [0.1, 0.1199, 0.1422, 0.167, 0.1943, 0.2243, 0.2568, 0.292, 0.3299, 0.3705, 0.4138],
        off_p: [0.1002, 0.1136, 0.1279, 0.1431, 0.1591, 0.1758, 0.1934, 0.2117, 0.2308, 0.2507, 0.2712],
    },
    Table {
        node_nm: 130,
        roadmap: Roadmap::Lstp,
        vdd: 1.3,
        gate_length: 7.5e-08,
        cap_ideal_gate: 1.8574e-09,
        cap_fringe: 9.530642e-10,
        resistance_multiplier: 1.54,
        on_n: [300.7, 273.4, 249.4, 228.4, 209.9, 193.5, 179.0, 166.0, 154.4, 144.0, 134.6],
        on_p: [150.7, 136.2, 123.6, 112.7, 103.2, 94.88, 87.54, 81.04, 75.25, 70.08, 65.44],
        off_n: [0.0001002, 0.0001359, 0.0001812, 0.0002378, 0.0003073, 0.0003919, 0.0004933, 0.0006137, 0.0007553, 0.0009202, 0.001111],
        off_p: [0.0001002, 0.0001328, 0.000173, 0.0002219, 0.0002807, 0.0003504, 0.0004322, 0.0005272, 0.0006368, 0.0007619, 0.0009038],
    },
    Table {
        node_nm: 90,
        roadmap: Roadmap::Hp,
        vdd: 1.2,
        gate_length: 5.5e-08,
        cap_ideal_gate: 5.694423e-10,
        cap_fringe: 5.652302e-10,
        resistance_multiplier: 1.54,
        on_n: [1070.0, 1050.0, 1030.0, 1010.0, 990.0, 970.0, 950.0, 930.0, 900.0, 880.0, 860.0],
        on_p: [540.0, 500.0, 470.0, 440.0, 410.0, 390.0, 370.0, 340.0, 320.0, 310.0, 290.0],
        off_n: [0.1008, 0.1208, 0.1434, 0.1686, 0.1966, 0.2274, 0.2611, 0.2977, 0.3373, 0.3798, 0.4254],
        off_p: [0.1, 0.114, 0.1289, 0.1448, 0.1616, 0.1793, 0.1979, 0.2174, 0.2379, 0.2591, 0.2813],
    },
    Table {
        node_nm: 90,
        roadmap: Roadmap::Lstp,
        vdd: 1.2,
        gate_length: 5.5e-08,
        cap_ideal_gate: 1.5413e-09,
        cap_fringe: 9.601334e-10,
        resistance_multiplier: 1.77,
        on_n: [346.3, 314.5, 286.8, 262.5, 241.2, 222.3, 205.6, 190.8, 177.5, 165.6, 155.0],
        on_p: [200.3, 179.5, 161.9, 146.9, 133.9, 122.6, 112.8, 104.1, 96.47, 89.68, 83.62],
        off_n: [0.0001, 0.0001357, 0.0001811, 0.000238, 0.0003085, 0.0003946, 0.0004985, 0.0006226, 0.0007693, 0.0009412, 0.001141],
        off_p: [0.0001003, 0.0001332, 0.0001742, 0.0002244, 0.0002851, 0.0003576, 0.0004434, 0.0005437, 0.00066, 0.0007938, 0.0009464],
    },
    Table {
        node_nm: 65,
        roadmap: Roadmap::Hp,
        vdd: 1.1,
        gate_length: 3.5e-08,
        cap_ideal_gate: 4.868295e-10,
        cap_fringe: 5.270361e-10,
        resistance_multiplier: 1.54,
        on_n: [1120.0, 1100.0, 1080.0, 1060.0, 1040.0, 1020.0, 1000.0, 980.0, 950.0, 930.0, 910.0],
        on_p: [700.0, 660.0, 620.0, 580.0, 550.0, 520.0, 490.0, 460.0, 440.0, 410.0, 390.0],
        off_n: [0.1, 0.1197, 0.1419, 0.1668, 0.1944, 0.2248, 0.2581, 0.2944, 0.3336, 0.3759, 0.4212],
        off_p: [0.1001, 0.1152, 0.1315, 0.149, 0.1676, 0.1874, 0.2084, 0.2305, 0.2537, 0.2781, 0.3036],
    },
    Table {
        node_nm: 65,
        roadmap: Roadmap::Lstp,
        vdd: 1.1,
        gate_length: 3.5e-08,
        cap_ideal_gate: 1.1926e-09,
        cap_fringe: 9.62148e-10,
        resistance_multiplier: 1.77,
        on_n: [400.0, 363.9, 332.3, 304.7, 280.4, 258.9, 239.9, 223.0, 207.9, 194.3, 182.1],
        on_p: [238.7, 216.1, 196.6, 179.7, 164.9, 152.0, 140.5, 130.4, 121.4, 113.3, 106.1],
        off_n: [0.0001002, 0.0001375, 0.0001858, 0.0002472, 0.0003242, 0.0004193, 0.0005354, 0.0006757, 0.0008431, 0.001041, 0.001273],
        off_p: [0.0001002, 0.0001354, 0.0001797, 0.0002349, 0.0003025, 0.0003843, 0.0004822, 0.000598, 0.0007339, 0.0008916, 0.001073],
    },
    Table {
        node_nm: 45,
        roadmap: Roadmap::Hp,
        vdd: 1.0,
        gate_length: 3e-08,
        cap_ideal_gate: 4.091305e-10,
        cap_fringe: 4.957928e-10,
        resistance_multiplier: 1.54,
        on_n: [1270.0, 1240.0, 1220.0, 1190.0, 1160.0, 1130.0, 1110.0, 1080.0, 1050.0, 1020.0, 1000.0],
        on_p: [1080.0, 1040.0, 1000.0, 960.0, 920.0, 880.0, 850.0, 810.0, 780.0, 750.0, 720.0],
        off_n: [0.1, 0.1207, 0.1441, 0.1705, 0.1998, 0.2323, 0.268, 0.3071, 0.3495, 0.3954, 0.4448],
        off_p: [0.1002, 0.1187, 0.1393, 0.162, 0.1868, 0.2139, 0.2433, 0.2749, 0.3089, 0.3452, 0.3838],
    },
    Table {
        node_nm: 45,
        roadmap: Roadmap::Lstp,
        vdd: 1.0,
        gate_length: 3e-08,
        cap_ideal_gate: 8.930709e-10,
        cap_fringe: 8.849901e-10,
        resistance_multiplier: 1.77,
        on_n: [500.2, 462.0, 427.8, 397.1, 369.4, 344.5, 322.1, 301.8, 283.4, 266.7, 251.5],
        on_p: [300.0, 275.7, 254.2, 235.1, 218.1, 202.8, 189.2, 176.9, 165.8, 155.8, 146.7],
        off_n: [0.0001, 0.0001405, 0.0001939, 0.0002631, 0.0003514, 0.0004625, 0.0006003, 0.0007692, 0.0009739, 0.001219, 0.001511],
        off_p: [0.0001002, 0.0001384, 0.0001876, 0.0002501, 0.0003281, 0.0004241, 0.0005409, 0.0006813, 0.0008483, 0.001045, 0.001275],
    },
    Table {
        node_nm: 32,
        roadmap: Roadmap::Hp,
        vdd: 0.9,
        gate_length: 2.8e-08,
        cap_ideal_gate: 3.767721e-10,
        cap_fringe: 4.713762e-10,
        resistance_multiplier: 1.54,
        on_n: [1410.0, 1380.0, 1350.0, 1310.0, 1280.0, 1250.0, 1210.0, 1180.0, 1150.0, 1120.0, 1080.0],
        on_p: [1220.0, 1170.0, 1120.0, 1070.0, 1020.0, 980.0, 940.0, 890.0, 860.0, 820.0, 780.0],
        off_n: [0.1003, 0.1204, 0.1431, 0.1686, 0.197, 0.2284, 0.2629, 0.3006, 0.3417, 0.3861, 0.4339],
        off_p: [0.1001, 0.119, 0.14, 0.1633, 0.1888, 0.2167, 0.247, 0.2797, 0.3149, 0.3526, 0.3928],
    },
    Table {
        node_nm: 32,
        roadmap: Roadmap::Lstp,
        vdd: 0.9,
        gate_length: 2.8e-08,
        cap_ideal_gate: 8.375279e-10,
        cap_fringe: 6.856677e-10,
        resistance_multiplier: 1.77,
        on_n: [600.2, 562.8, 528.2, 496.2, 466.8, 439.7, 414.8, 391.9, 370.7, 351.3, 333.3],
        on_p: [400.0, 368.4, 340.3, 315.3, 292.9, 272.8, 254.8, 238.5, 223.8, 210.5, 198.4],
        off_n: [0.0001001, 0.0001436, 0.0002021, 0.0002793, 0.0003795, 0.0005075, 0.0006688, 0.0008692, 0.001115, 0.001415, 0.001774],
        off_p: [0.0001001, 0.0001407, 0.000194, 0.0002625, 0.0003493, 0.0004577, 0.0005912, 0.0007537, 0.0009493, 0.001182, 0.001457],
    },
    Table {
        node_nm: 22,
        roadmap: Roadmap::Hp,
        vdd: 0.85,
        gate_length: 2.6e-08,
        cap_ideal_gate: 3.287e-10,
        cap_fringe: 4.532e-10,
        resistance_multiplier: 1.54,
        on_n: [1500.0, 1470.0, 1430.0, 1390.0, 1350.0, 1310.0, 1280.0, 1240.0, 1200.0, 1170.0, 1130.0],
        on_p: [1320.0, 1250.0, 1190.0, 1130.0, 1070.0, 1020.0, 970.0, 920.0, 880.0, 840.0, 800.0],
        off_n: [0.1002, 0.1204, 0.1435, 0.1695, 0.1987, 0.2312, 0.267, 0.3063, 0.3493, 0.396, 0.4466],
        off_p: [0.1002, 0.1194, 0.1408, 0.1646, 0.1909, 0.2195, 0.2507, 0.2845, 0.3209, 0.3598, 0.4015],
    },
    Table {
        node_nm: 22,
        roadmap: Roadmap::Lstp,
        vdd: 0.85,
        gate_length: 2.6e-08,
        cap_ideal_gate: 5.245e-10,
        cap_fringe: 8.004e-10,
        resistance_multiplier: 1.77,
        on_n: [791.9, 756.4, 722.2, 689.4, 658.1, 628.3, 600.0, 573.3, 548.0, 524.2, 501.7],
        on_p: [600.2, 561.3, 525.5, 492.5, 462.2, 434.3, 408.7, 385.1, 363.4, 343.3, 324.8],
        off_n: [0.0001, 0.0001473, 0.0002121, 0.0002996, 0.0004153, 0.0005658, 0.0007589, 0.001003, 0.001307, 0.001682, 0.002139],
        off_p: [0.0001, 0.0001473, 0.0002121, 0.0002996, 0.0004153, 0.0005658, 0.0007589, 0.001003, 0.001307, 0.001682, 0.002139],
    },
];

/// Nodes with a table, nm.
pub const NODES_NM: [u32; 6] = [22, 32, 45, 65, 90, 130];

/// The technology at one node, roadmap and temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct Technology {
    /// Node, nm.
    pub node_nm: u32,
    /// Feature size F = the node, m (NeuroSim's `tech.featureSize`).
    pub f: f64,
    /// Logic supply, V.
    pub vdd: f64,
    /// Physical gate length, m.
    pub gate_length: f64,
    /// Gate capacitance per width: ideal, overlap (0.2 of ideal) and fringe, F/m.
    pub cap_gate: f64,
    /// CACTI's effective-resistance multiplier.
    pub resistance_multiplier: f64,
    /// NMOS and PMOS on current at this temperature, A/m.
    pub on_n: f64,
    /// See `on_n`.
    pub on_p: f64,
    /// NMOS and PMOS off current at this temperature, A/m.
    pub off_n: f64,
    /// See `off_n`.
    pub off_p: f64,
    /// PMOS/NMOS width ratio for equal drive, from the 300 K on currents.
    pub pn_ratio: f64,
    /// Bottom junction capacitance, F/m^2.
    pub cap_junction: f64,
    /// Isolation-edge sidewall capacitance, F/m.
    pub cap_sidewall: f64,
    /// Gate-edge (drain-to-channel) sidewall capacitance, F/m.
    pub cap_drain_to_channel: f64,
}

/// Linear interpolation of a 300..=400 K table (every 10 K) at a whole kelvin index.
fn at_kelvin(table: &[f64; 11], index: usize) -> f64 {
    let (decade, rest) = (index / 10, index % 10);
    if rest == 0 {
        return table[decade];
    }
    let (a, b) = (table[decade], table[decade + 1]);
    a + (b - a) * rest as f64 / 10.0
}

impl Technology {
    /// The constants at `node_nm`, `roadmap` and `temp_k` (300..=400 K, truncated to a
    /// whole kelvin as NeuroSim does). `None` for a node without a table or a
    /// temperature outside the tables.
    pub fn new(node_nm: u32, roadmap: Roadmap, temp_k: f64) -> Option<Self> {
        let t = TABLES
            .iter()
            .find(|t| t.node_nm == node_nm && t.roadmap == roadmap)?;
        if !(300.0..401.0).contains(&temp_k) {
            return None;
        }
        let index = (temp_k.trunc() as usize - 300).min(100);
        // BSIM4 defaults: bottom, isolation-edge and gate-edge junction capacitances
        // and their grading coefficients, at a 0.9 V built-in potential.
        let swing = 1.0 + t.vdd / 0.9;
        Some(Technology {
            node_nm,
            f: f64::from(node_nm) * 1e-9,
            vdd: t.vdd,
            gate_length: t.gate_length,
            cap_gate: t.cap_ideal_gate * 1.2 + t.cap_fringe,
            resistance_multiplier: t.resistance_multiplier,
            on_n: at_kelvin(&t.on_n, index),
            on_p: at_kelvin(&t.on_p, index),
            off_n: at_kelvin(&t.off_n, index),
            off_p: at_kelvin(&t.off_p, index),
            pn_ratio: t.on_n[0] / t.on_p[0],
            cap_junction: 1e-3 / swing.powf(0.5),
            cap_sidewall: 2.5e-10 / swing.powf(0.33),
            cap_drain_to_channel: 0.5e-10 / swing.powf(0.33),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_has_both_roadmaps_and_interpolates_between_decades() {
        for node in NODES_NM {
            for roadmap in [Roadmap::Hp, Roadmap::Lstp] {
                let cold = Technology::new(node, roadmap, 300.0).unwrap();
                let warm = Technology::new(node, roadmap, 400.0).unwrap();
                assert!(
                    warm.off_n > cold.off_n && warm.on_n < cold.on_n,
                    "{node} {roadmap:?}"
                );
            }
        }
        // 32 nm LSTP NMOS on current: 600.2 at 300 K, 562.8 at 310 K.
        let t = Technology::new(32, Roadmap::Lstp, 303.9).unwrap();
        assert!((t.on_n - (600.2 + (562.8 - 600.2) * 0.3)).abs() < 1e-9);
        assert!((t.pn_ratio - 600.2 / 400.0).abs() < 1e-12);
        assert!(Technology::new(14, Roadmap::Lstp, 300.0).is_none());
        assert!(Technology::new(32, Roadmap::Lstp, 401.0).is_none());
        assert!(Technology::new(32, Roadmap::Lstp, 299.0).is_none());
    }
}
