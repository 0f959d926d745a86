//! Network architectures as lists of weight layers (convolutions and fully connected
//! layers), the input of the crossbar mapping in [`crate::ppa`].
//!
//! Only layers that hold weights appear: batch norm, ReLU, pooling and parameter-free
//! shortcuts need no crossbar. Spatial sizes are square (`*_hw` is the side length).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The networks the optimiser knows (paper, section 2, plus `cnn_small` for fast tests
/// and `vgg8` for the comparison with DNN+NeuroSim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelName {
    /// Three 3x3 conv + BN + ReLU + max-pool blocks (16, 32, 64 channels), one FC layer.
    CnnSmall,
    /// CIFAR ResNet of He et al. (2016), 6n+2 layers with n = 3, option-A shortcuts.
    #[serde(rename = "resnet20")]
    ResNet20,
    /// CIFAR ResNet, n = 5.
    #[serde(rename = "resnet32")]
    ResNet32,
    /// CIFAR ResNet, n = 7.
    #[serde(rename = "resnet44")]
    ResNet44,
    /// The VGG8 of DNN+NeuroSim's CIFAR-10 example (no bias, no batch norm).
    Vgg8,
    /// CIFAR VGG11 with batch norm and a single FC classifier.
    Vgg11,
    /// CIFAR VGG13 with batch norm and a single FC classifier.
    Vgg13,
}

/// The accepted spellings of [`ModelName`], in the order of [`ModelName::ALL`].
pub const MODEL_NAMES: &str = "cnn_small, resnet20, resnet32, resnet44, vgg8, vgg11, vgg13";

/// A model name that [`ModelName::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown model name `{0}`; valid names: {MODEL_NAMES}")]
pub struct UnknownModelName(pub String);

impl ModelName {
    /// Every model, in declaration order.
    pub const ALL: [ModelName; 7] = [
        ModelName::CnnSmall,
        ModelName::ResNet20,
        ModelName::ResNet32,
        ModelName::ResNet44,
        ModelName::Vgg8,
        ModelName::Vgg11,
        ModelName::Vgg13,
    ];

    /// The canonical (serde) name, e.g. `"resnet20"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::CnnSmall => "cnn_small",
            ModelName::ResNet20 => "resnet20",
            ModelName::ResNet32 => "resnet32",
            ModelName::ResNet44 => "resnet44",
            ModelName::Vgg8 => "vgg8",
            ModelName::Vgg11 => "vgg11",
            ModelName::Vgg13 => "vgg13",
        }
    }

    /// The smallest square input side [`layers`] accepts: every pooling or strided stage
    /// must keep at least one pixel (8 for three 2x2 pools, 32 for VGG11/13's five).
    pub fn min_input_hw(self) -> usize {
        match self {
            ModelName::CnnSmall | ModelName::Vgg8 => 8,
            ModelName::ResNet20 | ModelName::ResNet32 | ModelName::ResNet44 => 1,
            ModelName::Vgg11 | ModelName::Vgg13 => 32,
        }
    }

    /// Whether the convolutions carry a bias (only the BN VGG11/13, which keep it).
    fn conv_bias(self) -> bool {
        matches!(self, ModelName::Vgg11 | ModelName::Vgg13)
    }

    /// Whether every convolution is followed by batch norm (all but NeuroSim's VGG8).
    fn batch_norm(self) -> bool {
        self != ModelName::Vgg8
    }

    /// Whether the FC layers carry a bias (all but NeuroSim's VGG8, whose `QLinear`
    /// defaults to `bias=False`).
    fn fc_bias(self) -> bool {
        self != ModelName::Vgg8
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelName {
    type Err = UnknownModelName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelName::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownModelName(s.to_owned()))
    }
}

/// The shape of one weight layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// A 2-D convolution on square feature maps.
    Conv {
        /// Input channels.
        in_ch: usize,
        /// Output channels (filters).
        out_ch: usize,
        /// Square kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
        /// Input feature-map side.
        in_hw: usize,
        /// Output feature-map side: `(in_hw + 2 padding - kernel) / stride + 1`.
        out_hw: usize,
    },
    /// A fully connected layer.
    Fc {
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
    },
}

/// One weight layer of a network, in forward order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Layer name, unique within the network (e.g. `"layer2.0.conv1"`).
    pub name: String,
    /// Its shape.
    pub kind: LayerKind,
    /// Followed by a 2x2 stride-2 max pool (VGG, the small CNN).
    pub max_pool: bool,
}

impl LayerSpec {
    /// Number of weights (biases excluded): `in_ch * out_ch * k * k` or
    /// `in_features * out_features`.
    pub fn weight_count(&self) -> u64 {
        (self.crossbar_rows() * self.output_channels()) as u64
    }

    /// Multiply-accumulates for one image: weights times output positions.
    pub fn macs(&self) -> u64 {
        self.weight_count() * self.output_positions() as u64
    }

    /// Crossbar rows the layer's weight matrix needs: `in_ch * k * k` (im2col) or
    /// `in_features`.
    pub fn crossbar_rows(&self) -> usize {
        match self.kind {
            LayerKind::Conv { in_ch, kernel, .. } => in_ch * kernel * kernel,
            LayerKind::Fc { in_features, .. } => in_features,
        }
    }

    /// Outputs per position: `out_ch` or `out_features` (one weight column each, before
    /// bit slicing and the differential pair).
    pub fn output_channels(&self) -> usize {
        match self.kind {
            LayerKind::Conv { out_ch, .. } => out_ch,
            LayerKind::Fc { out_features, .. } => out_features,
        }
    }

    /// Matrix-vector products per image: `out_hw^2` for a convolution, 1 for FC.
    pub fn output_positions(&self) -> usize {
        match self.kind {
            LayerKind::Conv { out_hw, .. } => out_hw * out_hw,
            LayerKind::Fc { .. } => 1,
        }
    }

    /// Whether this is a convolution (its kernels may be duplicated across crossbars).
    pub fn is_conv(&self) -> bool {
        matches!(self.kind, LayerKind::Conv { .. })
    }
}

/// Tracks channels and spatial size while a network is laid out.
struct Builder {
    layers: Vec<LayerSpec>,
    ch: usize,
    hw: usize,
}

impl Builder {
    fn new(in_ch: usize, hw: usize, capacity: usize) -> Self {
        Builder {
            layers: Vec::with_capacity(capacity),
            ch: in_ch,
            hw,
        }
    }

    fn conv(&mut self, name: String, out_ch: usize, stride: usize) {
        const KERNEL: usize = 3;
        const PADDING: usize = 1;
        let out_hw = (self.hw + 2 * PADDING - KERNEL) / stride + 1;
        self.layers.push(LayerSpec {
            name,
            kind: LayerKind::Conv {
                in_ch: self.ch,
                out_ch,
                kernel: KERNEL,
                stride,
                padding: PADDING,
                in_hw: self.hw,
                out_hw,
            },
            max_pool: false,
        });
        self.ch = out_ch;
        self.hw = out_hw;
    }

    /// 2x2 max pooling with stride 2 (floor), after the last layer.
    fn pool(&mut self) {
        self.hw /= 2;
        if let Some(last) = self.layers.last_mut() {
            last.max_pool = true;
        }
    }

    /// Flattens the current feature map into an FC layer.
    fn fc(&mut self, name: String, out_features: usize) {
        let in_features = self.ch * self.hw * self.hw;
        self.layers.push(LayerSpec {
            name,
            kind: LayerKind::Fc {
                in_features,
                out_features,
            },
            max_pool: false,
        });
        self.ch = out_features;
        self.hw = 1;
    }

    /// Global average pooling: one value per channel.
    fn global_pool(&mut self) {
        self.hw = 1;
    }
}

/// A VGG feature configuration: `Some(channels)` is a 3x3 conv, `None` a 2x2 max-pool.
type VggCfg = &'static [Option<usize>];

const VGG8_CFG: VggCfg = &[
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    None,
];
const VGG11_CFG: VggCfg = &[
    Some(64),
    None,
    Some(128),
    None,
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    None,
];
const VGG13_CFG: VggCfg = &[
    Some(64),
    Some(64),
    None,
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    None,
];

fn vgg_features(b: &mut Builder, cfg: VggCfg) {
    let mut idx = 0;
    for item in cfg {
        match item {
            Some(ch) => {
                idx += 1;
                b.conv(format!("conv{idx}"), *ch, 1);
            }
            None => b.pool(),
        }
    }
}

fn resnet(b: &mut Builder, n: usize, num_classes: usize) {
    b.conv("conv1".to_owned(), 16, 1);
    for (stage, ch) in [16, 32, 64].into_iter().enumerate() {
        for block in 0..n {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            b.conv(format!("layer{}.{block}.conv1", stage + 1), ch, stride);
            b.conv(format!("layer{}.{block}.conv2", stage + 1), ch, 1);
        }
    }
    b.global_pool();
    b.fc("fc".to_owned(), num_classes);
}

/// Checks that `model` can take `height` x `width` images into `num_classes` classes:
/// square, at least [`ModelName::min_input_hw`] on a side, at least one class.
pub fn check_input(
    model: ModelName,
    height: usize,
    width: usize,
    num_classes: usize,
) -> Result<(), String> {
    if height != width {
        return Err(format!(
            "the images are {height}x{width}, but {model} takes square images"
        ));
    }
    if height < model.min_input_hw() {
        return Err(format!(
            "the images are {height}x{width}, but {model} needs at least {min}x{min}",
            min = model.min_input_hw()
        ));
    }
    if num_classes == 0 {
        return Err("the data set has no classes".to_string());
    }
    Ok(())
}

/// The weight layers of `model` for a square `input_hw` x `input_hw` RGB input and
/// `num_classes` outputs, in forward order, with their spatial sizes.
///
/// # Panics
/// If `input_hw < model.min_input_hw()` or `num_classes == 0`
/// ([`crate::ppa::estimate`] checks both and returns an error instead).
pub fn layers(model: ModelName, input_hw: usize, num_classes: usize) -> Vec<LayerSpec> {
    assert!(
        input_hw >= model.min_input_hw(),
        "{model} needs input_hw >= {}, got {input_hw}",
        model.min_input_hw()
    );
    assert!(num_classes > 0, "num_classes must be at least 1");
    let mut b = Builder::new(3, input_hw, 48);
    match model {
        ModelName::CnnSmall => {
            for (i, ch) in [16, 32, 64].into_iter().enumerate() {
                b.conv(format!("conv{}", i + 1), ch, 1);
                b.pool();
            }
            b.fc("fc".to_owned(), num_classes);
        }
        ModelName::ResNet20 => resnet(&mut b, 3, num_classes),
        ModelName::ResNet32 => resnet(&mut b, 5, num_classes),
        ModelName::ResNet44 => resnet(&mut b, 7, num_classes),
        ModelName::Vgg8 => {
            vgg_features(&mut b, VGG8_CFG);
            b.fc("fc1".to_owned(), 1024);
            b.fc("fc2".to_owned(), num_classes);
        }
        ModelName::Vgg11 => {
            vgg_features(&mut b, VGG11_CFG);
            b.fc("fc".to_owned(), num_classes);
        }
        ModelName::Vgg13 => {
            vgg_features(&mut b, VGG13_CFG);
            b.fc("fc".to_owned(), num_classes);
        }
    }
    b.layers
}

/// Trainable parameters of `model`: weights, biases (VGG11/13 convs and every FC layer
/// except VGG8's) and batch-norm affine parameters (scale and shift per channel after
/// every convolution, except in VGG8). Running statistics are not parameters.
///
/// # Panics
/// Under the same conditions as [`layers`].
pub fn parameter_count(model: ModelName, input_hw: usize, num_classes: usize) -> u64 {
    layers(model, input_hw, num_classes)
        .iter()
        .map(|l| {
            let out = l.output_channels() as u64;
            let extra = if l.is_conv() {
                u64::from(model.conv_bias()) * out + u64::from(model.batch_norm()) * 2 * out
            } else {
                u64::from(model.fc_bias()) * out
            };
            l.weight_count() + extra
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_a_model_cannot_take_are_errors_not_panics() {
        let err = check_input(ModelName::Vgg11, 16, 16, 10).unwrap_err();
        assert!(err.contains("vgg11") && err.contains("32x32"), "{err}");
        let err = check_input(ModelName::CnnSmall, 32, 24, 10).unwrap_err();
        assert!(err.contains("32x24") && err.contains("square"), "{err}");
        assert!(check_input(ModelName::CnnSmall, 32, 32, 0).is_err());
        assert_eq!(check_input(ModelName::ResNet20, 32, 32, 10), Ok(()));
    }

    fn conv_shapes(model: ModelName) -> Vec<(usize, usize, usize, usize)> {
        layers(model, 32, 10)
            .iter()
            .filter_map(|l| match l.kind {
                LayerKind::Conv {
                    in_ch,
                    out_ch,
                    in_hw,
                    out_hw,
                    ..
                } => Some((in_ch, out_ch, in_hw, out_hw)),
                LayerKind::Fc { .. } => None,
            })
            .collect()
    }

    fn fc_shapes(model: ModelName, input_hw: usize, classes: usize) -> Vec<(usize, usize)> {
        layers(model, input_hw, classes)
            .iter()
            .filter_map(|l| match l.kind {
                LayerKind::Fc {
                    in_features,
                    out_features,
                } => Some((in_features, out_features)),
                LayerKind::Conv { .. } => None,
            })
            .collect()
    }

    #[test]
    fn names_round_trip_through_display_fromstr_and_serde() {
        let listed: Vec<&str> = MODEL_NAMES.split(", ").collect();
        assert_eq!(listed.len(), ModelName::ALL.len());
        for (m, name) in ModelName::ALL.into_iter().zip(listed) {
            assert_eq!(m.to_string(), name);
            assert_eq!(name.parse::<ModelName>().unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<ModelName>(&json).unwrap(), m);
        }
    }

    #[test]
    fn unknown_name_error_lists_valid_names() {
        let err = "resnet18".parse::<ModelName>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("resnet18"), "{msg}");
        for m in ModelName::ALL {
            assert!(msg.contains(m.as_str()), "{msg}");
        }
        assert!(serde_json::from_str::<ModelName>("\"ResNet20\"").is_err());
    }

    #[test]
    fn resnet_parameter_counts_option_a() {
        // Option A, BN affine parameters and the FC bias included. Hand count for
        // ResNet20: conv1 432 + BN 32; stage 1: 6 x 2304 + 6 x 32 = 14016;
        // stage 2: 4608 + 5 x 9216 + 6 x 64 = 51072; stage 3: 18432 + 5 x 36864
        // + 6 x 128 = 203520; FC 64 x 10 + 10 = 650; total 269722 (the count printed by
        // the widely used akamaster/pytorch_resnet_cifar10 implementation).
        assert_eq!(parameter_count(ModelName::ResNet20, 32, 10), 269_722);
        assert_eq!(parameter_count(ModelName::ResNet32, 32, 10), 464_154);
        assert_eq!(parameter_count(ModelName::ResNet44, 32, 10), 658_586);
    }

    #[test]
    fn resnet_projection_shortcuts_would_give_the_option_b_counts() {
        // 272,474 / 466,906 / 661,338 are the option-B counts: the two stride-2
        // stages' 1x1 projection convs with BN add 16*32 + 2*32 + 32*64 + 2*64 = 2752.
        let projections: u64 = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64;
        assert_eq!(projections, 2752);
        assert_eq!(
            parameter_count(ModelName::ResNet20, 32, 10) + projections,
            272_474
        );
        assert_eq!(
            parameter_count(ModelName::ResNet32, 32, 10) + projections,
            466_906
        );
        assert_eq!(
            parameter_count(ModelName::ResNet44, 32, 10) + projections,
            661_338
        );
    }

    #[test]
    fn other_parameter_counts() {
        // VGG11-BN / VGG13-BN CIFAR with a 512 -> 10 classifier: the well-known
        // 9,231,114 and 9,416,010.
        assert_eq!(parameter_count(ModelName::Vgg11, 32, 10), 9_231_114);
        assert_eq!(parameter_count(ModelName::Vgg13, 32, 10), 9_416_010);
        // VGG8 (NeuroSim, weights only): 3456 + 147456 + 294912 + 589824 + 1179648
        // + 2359296 + 8192*1024 + 1024*10.
        assert_eq!(parameter_count(ModelName::Vgg8, 32, 10), 12_973_440);
        // cnn_small: 432+32 + 4608+64 + 18432+128 + 1024*10+10.
        assert_eq!(parameter_count(ModelName::CnnSmall, 32, 10), 33_946);
        // CIFAR-100 head: ResNet20 FC grows by 64*90 + 90.
        assert_eq!(
            parameter_count(ModelName::ResNet20, 32, 100),
            269_722 + 5850
        );
    }

    #[test]
    fn resnet20_layer_shapes() {
        let l = layers(ModelName::ResNet20, 32, 10);
        assert_eq!(l.len(), 20);
        assert_eq!(l[0].name, "conv1");
        assert_eq!(l[19].name, "fc");
        let convs = conv_shapes(ModelName::ResNet20);
        assert_eq!(convs[0], (3, 16, 32, 32));
        assert!(convs[1..7].iter().all(|&c| c == (16, 16, 32, 32)));
        assert_eq!(convs[7], (16, 32, 32, 16));
        assert!(convs[8..13].iter().all(|&c| c == (32, 32, 16, 16)));
        assert_eq!(convs[13], (32, 64, 16, 8));
        assert!(convs[14..19].iter().all(|&c| c == (64, 64, 8, 8)));
        assert_eq!(fc_shapes(ModelName::ResNet20, 32, 10), vec![(64, 10)]);
        assert_eq!(layers(ModelName::ResNet32, 32, 10).len(), 32);
        assert_eq!(layers(ModelName::ResNet44, 32, 10).len(), 44);
        // Names are unique.
        let mut names: Vec<&str> = l.iter().map(|x| x.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 20);
    }

    #[test]
    fn vgg_and_cnn_small_shapes() {
        let v8 = conv_shapes(ModelName::Vgg8);
        assert_eq!(
            v8,
            vec![
                (3, 128, 32, 32),
                (128, 128, 32, 32),
                (128, 256, 16, 16),
                (256, 256, 16, 16),
                (256, 512, 8, 8),
                (512, 512, 8, 8),
            ]
        );
        assert_eq!(
            fc_shapes(ModelName::Vgg8, 32, 10),
            vec![(8192, 1024), (1024, 10)]
        );
        assert_eq!(conv_shapes(ModelName::Vgg11).len(), 8);
        assert_eq!(conv_shapes(ModelName::Vgg13).len(), 10);
        assert_eq!(conv_shapes(ModelName::Vgg11)[7], (512, 512, 2, 2));
        assert_eq!(fc_shapes(ModelName::Vgg13, 32, 10), vec![(512, 10)]);
        assert_eq!(
            conv_shapes(ModelName::CnnSmall),
            vec![(3, 16, 32, 32), (16, 32, 16, 16), (32, 64, 8, 8)]
        );
        assert_eq!(fc_shapes(ModelName::CnnSmall, 32, 10), vec![(1024, 10)]);
        // Other input sizes flow through the flatten.
        assert_eq!(fc_shapes(ModelName::CnnSmall, 64, 10), vec![(4096, 10)]);
        assert_eq!(fc_shapes(ModelName::Vgg11, 64, 100), vec![(2048, 100)]);
    }

    #[test]
    fn layer_metrics() {
        let l = layers(ModelName::ResNet20, 32, 10);
        assert_eq!(l[0].crossbar_rows(), 27);
        assert_eq!(l[0].weight_count(), 432);
        assert_eq!(l[0].output_positions(), 1024);
        assert_eq!(l[0].macs(), 432 * 1024);
        assert_eq!(l[19].crossbar_rows(), 64);
        assert_eq!(l[19].output_positions(), 1);
        assert_eq!(l[19].macs(), 640);
        // ResNet20 is about 41 M MACs per image.
        let macs: u64 = l.iter().map(LayerSpec::macs).sum();
        assert_eq!(macs, 40_551_040);
    }

    #[test]
    #[should_panic(expected = "vgg11 needs input_hw >= 32")]
    fn too_small_input_panics() {
        layers(ModelName::Vgg11, 16, 10);
    }
}
