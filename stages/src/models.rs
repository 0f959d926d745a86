//! The DNNs in candle, built from the layer lists of [`crate::arch`], so that training and
//! the PPA model see the same network.
//!
//! - `cnn_small` and the VGGs: 3x3 conv, batch norm, ReLU, with 2x2 max pooling wherever
//!   the next layer's input is smaller, then the FC layer(s).
//! - ResNet20/32/44 (He et al. 2016, CIFAR): basic blocks with the **option-A shortcut**
//!   (identity, stride-2 subsampling and zero-padded channels; no parameters), global
//!   average pooling, one FC layer; ResNet20 has 269,722 parameters.
//!
//! On the CPU, convolutions run through [`crate::kernels::conv::conv2d`] (im2col + GEMM, about 5x
//! faster than candle's own in training); elsewhere through candle's.
//!
//! Every conv and FC layer runs through caller-given [`LayerOps`] on each forward pass:
//! [`Clean`] for software training, the simulated crossbars for ReSNA and noisy
//! inference ([`crate::training::injection`]).
//! Weights are initialised from a seeded generator (candle's CPU RNG cannot be seeded):
//! Kaiming-normal for conv and FC weights, zero biases, unit batch-norm scales.

use candle_core::{DType, Device, Module, Result, Tensor, Var};
use candle_nn::{Init, VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::arch::{self, LayerKind, LayerSpec, ModelName};
use crate::kernels::batch_norm::{add_residual_and_activate, Activation, BatchNorm2d};

/// How the weight layers compute: `layer` indexes [`Network::layers`].
pub trait LayerOps {
    /// The convolution of `x` `(n, c_in, h, w)` with `w` `(c_out, c_in, k, k)`.
    fn conv(
        &self,
        layer: usize,
        x: &Tensor,
        w: &Tensor,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor>;
    /// The product of `x` `(n, in)` with `w` `(out, in)` transposed.
    fn fc(&self, layer: usize, x: &Tensor, w: &Tensor) -> Result<Tensor>;
}

/// The layers in software: exact float convolutions and products.
pub struct Clean(pub ConvBackend);

impl LayerOps for Clean {
    fn conv(
        &self,
        _: usize,
        x: &Tensor,
        w: &Tensor,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        if x.device().is_cpu() && self.0 == ConvBackend::Fast {
            crate::kernels::conv::conv2d(x, w, stride, padding)
        } else {
            x.conv2d(w, padding, stride, 1, 1)
        }
    }

    fn fc(&self, _: usize, x: &Tensor, w: &Tensor) -> Result<Tensor> {
        x.matmul(&w.t()?)
    }
}

/// One conv or FC layer with its parameters.
struct WeightLayer {
    spec: LayerSpec,
    weight: Tensor,
    bias: Option<Tensor>,
    bn: Option<BatchNorm2d>,
}

/// Which convolution implementation a network uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvBackend {
    /// [`crate::kernels::conv::conv2d`] on the CPU (the default), candle's elsewhere.
    Fast,
    /// candle's own `conv2d` everywhere (the benchmark's baseline).
    Candle,
}

/// A network with its parameters.
pub struct Network {
    model: ModelName,
    layers: Vec<WeightLayer>,
    varmap: VarMap,
    conv: ConvBackend,
}

/// Whether a model's convs carry a bias (VGG11/13 as in the common CIFAR variants).
fn conv_bias(model: ModelName) -> bool {
    matches!(model, ModelName::Vgg11 | ModelName::Vgg13)
}

/// Whether a model has batch norm after its convs (all but NeuroSim's VGG8).
fn has_bn(model: ModelName) -> bool {
    model != ModelName::Vgg8
}

impl Network {
    /// Builds `model` for square `input_hw` RGB inputs and `num_classes` outputs,
    /// initialised from `seed`.
    pub fn new(
        model: ModelName,
        input_hw: usize,
        num_classes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Network> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let mut layers = Vec::new();
        for spec in arch::layers(model, input_hw, num_classes) {
            let p = vb.pp(&spec.name);
            let layer = match spec.kind {
                LayerKind::Conv {
                    in_ch,
                    out_ch,
                    kernel,
                    ..
                } => WeightLayer {
                    weight: p.get_with_hints(
                        (out_ch, in_ch, kernel, kernel),
                        "weight",
                        Init::Const(0.0),
                    )?,
                    bias: if conv_bias(model) {
                        Some(p.get_with_hints(out_ch, "bias", Init::Const(0.0))?)
                    } else {
                        None
                    },
                    bn: if has_bn(model) {
                        Some(BatchNorm2d::new(
                            out_ch,
                            vb.pp(format!("{}.bn", spec.name)),
                        )?)
                    } else {
                        None
                    },
                    spec,
                },
                LayerKind::Fc {
                    in_features,
                    out_features,
                } => WeightLayer {
                    weight: p.get_with_hints(
                        (out_features, in_features),
                        "weight",
                        Init::Const(0.0),
                    )?,
                    bias: if model == ModelName::Vgg8 && spec.name != "fc2" {
                        None
                    } else {
                        Some(p.get_with_hints(out_features, "bias", Init::Const(0.0))?)
                    },
                    bn: None,
                    spec,
                },
            };
            layers.push(layer);
        }
        let net = Network {
            model,
            layers,
            varmap,
            conv: ConvBackend::Fast,
        };
        net.initialise(seed)?;
        Ok(net)
    }

    /// Seeded initialisation, in sorted parameter-name order.
    fn initialise(&self, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = self.varmap.data().lock().expect("var map lock");
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            let dims = var.dims().to_vec();
            let n: usize = dims.iter().product();
            let values: Vec<f32> = if name.ends_with(".weight") && dims.len() >= 2 {
                let fan_in: usize = dims[1..].iter().product();
                let std = (2.0 / fan_in as f64).sqrt();
                (0..n)
                    .map(|_| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        (std * z) as f32
                    })
                    .collect()
            } else if name.ends_with("bn.weight") || name.ends_with("running_var") {
                vec![1.0; n]
            } else {
                vec![0.0; n]
            };
            var.set(&Tensor::from_vec(values, dims, var.device())?)?;
        }
        Ok(())
    }

    /// Chooses the convolution implementation (both compute the same function).
    pub fn set_conv_backend(&mut self, conv: ConvBackend) {
        self.conv = conv;
    }

    /// The model.
    pub fn model(&self) -> ModelName {
        self.model
    }

    /// The weight layers, in forward order.
    pub fn layers(&self) -> Vec<&LayerSpec> {
        self.layers.iter().map(|l| &l.spec).collect()
    }

    /// The current weight tensor of layer `i`.
    pub fn weight(&self, i: usize) -> &Tensor {
        &self.layers[i].weight
    }

    /// The trainable variables (batch-norm running statistics excluded), by name.
    pub fn trainable(&self) -> Vec<(String, Var)> {
        let data = self.varmap.data().lock().expect("var map lock");
        let mut vars: Vec<(String, Var)> = data
            .iter()
            .filter(|(n, _)| !n.ends_with("running_mean") && !n.ends_with("running_var"))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    /// The number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.trainable().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Every variable (running statistics included), for checkpoints.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// Logits for a batch `x` of shape `(n, 3, h, w)`; `train` selects batch statistics
    /// (and updates the running ones) in batch norm.
    pub fn forward_t(&self, x: &Tensor, train: bool, ops: &dyn LayerOps) -> Result<Tensor> {
        let features = self.features(x, train, ops)?;
        self.head(&features, ops)
    }

    /// Everything before the last FC layer: the input of [`Network::head`].
    pub fn features(&self, x: &Tensor, train: bool, ops: &dyn LayerOps) -> Result<Tensor> {
        match self.model {
            ModelName::ResNet20 | ModelName::ResNet32 | ModelName::ResNet44 => {
                self.resnet_features(x, train, ops)
            }
            _ => self.plain_features(x, train, ops),
        }
    }

    /// The last FC layer on `features`: the logits.
    pub fn head(&self, features: &Tensor, ops: &dyn LayerOps) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let LayerKind::Fc { in_features, .. } = self.layers[last].spec.kind else {
            unreachable!("every network ends in an FC layer");
        };
        let mut x = features.clone();
        while x.rank() == 4 && x.dims()[1..].iter().product::<usize>() > in_features {
            x = x.max_pool2d(2)?;
        }
        if x.rank() == 4 {
            x = x.flatten_from(1)?;
        }
        self.fc(last, &x, ops)
    }

    /// Logits in software (no crossbar).
    pub fn forward_clean(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_t(x, train, &Clean(self.conv))
    }

    /// conv (+ bias) + batch norm (+ `residual`), then `act`: one fused op after the conv
    /// where the model has batch norm.
    fn conv_bn(
        &self,
        i: usize,
        x: &Tensor,
        train: bool,
        ops: &dyn LayerOps,
        (residual, act): (Option<&Tensor>, Activation),
    ) -> Result<Tensor> {
        let l = &self.layers[i];
        let LayerKind::Conv {
            stride, padding, ..
        } = l.spec.kind
        else {
            unreachable!("layer {i} is a conv");
        };
        let mut y = ops.conv(i, x, &l.weight, stride, padding)?;
        if let Some(b) = &l.bias {
            y = y.broadcast_add(&b.reshape((1, (), 1, 1))?)?;
        }
        match &l.bn {
            Some(bn) => bn.forward(&y, train, residual, act),
            None => add_residual_and_activate(y, residual, act),
        }
    }

    fn fc(&self, i: usize, x: &Tensor, ops: &dyn LayerOps) -> Result<Tensor> {
        let l = &self.layers[i];
        let y = ops.fc(i, x, &l.weight)?;
        match &l.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    fn plain_features(&self, x: &Tensor, train: bool, ops: &dyn LayerOps) -> Result<Tensor> {
        let mut x = x.clone();
        let last = self.layers.len() - 1;
        for (i, l) in self.layers[..last].iter().enumerate() {
            match l.spec.kind {
                LayerKind::Conv { in_hw, .. } => {
                    while x.dim(2)? > in_hw {
                        x = x.max_pool2d(2)?;
                    }
                    x = self.conv_bn(i, &x, train, ops, (None, Activation::Relu))?;
                }
                LayerKind::Fc { in_features, .. } => {
                    while x.rank() == 4 && x.dims()[1..].iter().product::<usize>() > in_features {
                        x = x.max_pool2d(2)?;
                    }
                    if x.rank() == 4 {
                        x = x.flatten_from(1)?;
                    }
                    x = self.fc(i, &x, ops)?.relu()?;
                }
            }
        }
        Ok(x)
    }

    fn resnet_features(&self, x: &Tensor, train: bool, ops: &dyn LayerOps) -> Result<Tensor> {
        let relu = (None, Activation::Relu);
        let mut x = self.conv_bn(0, x, train, ops, relu)?;
        let last = self.layers.len() - 1;
        let mut i = 1;
        while i < last {
            let LayerKind::Conv { out_ch, out_hw, .. } = self.layers[i + 1].spec.kind else {
                unreachable!("a basic block is two convs");
            };
            let out = self.conv_bn(i, &x, train, ops, relu)?;
            let shortcut = option_a_shortcut(&x, out_ch, out_hw)?;
            x = self.conv_bn(i + 1, &out, train, ops, (Some(&shortcut), Activation::Relu))?;
            i += 2;
        }
        x.mean(3)?.mean(2)
    }
}

/// The option-A shortcut: identity, subsampled to `out_hw` by taking every other pixel,
/// with zero channels padded evenly on both sides up to `out_ch`.
fn option_a_shortcut(x: &Tensor, out_ch: usize, out_hw: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let mut y = x.clone();
    if h != out_hw {
        y = y
            .reshape((n, c, h / 2, 2, w / 2, 2))?
            .narrow(3, 0, 1)?
            .narrow(5, 0, 1)?
            .reshape((n, c, h / 2, w / 2))?;
    }
    if c != out_ch {
        let side = (out_ch - c) / 2;
        let zeros = Tensor::zeros((n, side, out_hw, out_hw), y.dtype(), y.device())?;
        y = Tensor::cat(&[&zeros, &y, &zeros], 1)?;
    }
    Ok(y)
}

/// A module view of a network without noise, for code that wants candle's `Module`.
pub struct CleanEval<'a>(pub &'a Network);

impl Module for CleanEval<'_> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward_clean(x, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_match_the_architectures() {
        let dev = Device::Cpu;
        for model in [
            ModelName::CnnSmall,
            ModelName::ResNet20,
            ModelName::ResNet32,
            ModelName::Vgg11,
        ] {
            let net = Network::new(model, 32, 10, 0, &dev).unwrap();
            assert_eq!(
                net.parameter_count() as u64,
                arch::parameter_count(model, 32, 10),
                "{model}"
            );
        }
        let r20 = Network::new(ModelName::ResNet20, 32, 10, 0, &dev).unwrap();
        assert_eq!(r20.parameter_count(), 269_722);
    }

    #[test]
    fn every_model_maps_a_batch_to_logits() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (2, 3, 32, 32), &dev).unwrap();
        for model in ModelName::ALL {
            let net = Network::new(model, 32, 10, 1, &dev).unwrap();
            let y = net.forward_clean(&x, true).unwrap();
            assert_eq!(y.dims(), &[2, 10], "{model}");
            let v: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            assert!(v.iter().all(|f| f.is_finite()), "{model}");
        }
    }

    #[test]
    fn initialisation_is_seeded() {
        let dev = Device::Cpu;
        let a = Network::new(ModelName::CnnSmall, 32, 10, 7, &dev).unwrap();
        let b = Network::new(ModelName::CnnSmall, 32, 10, 7, &dev).unwrap();
        let c = Network::new(ModelName::CnnSmall, 32, 10, 8, &dev).unwrap();
        let w = |n: &Network| n.weight(0).flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(w(&a), w(&b));
        assert_ne!(w(&a), w(&c));
    }

    /// Records the layers it runs, computing them in software.
    struct Recording(std::cell::RefCell<Vec<usize>>);

    impl LayerOps for Recording {
        fn conv(&self, i: usize, x: &Tensor, w: &Tensor, s: usize, p: usize) -> Result<Tensor> {
            self.0.borrow_mut().push(i);
            Clean(ConvBackend::Fast).conv(i, x, w, s, p)
        }

        fn fc(&self, i: usize, x: &Tensor, w: &Tensor) -> Result<Tensor> {
            self.0.borrow_mut().push(i);
            Clean(ConvBackend::Fast).fc(i, x, w)
        }
    }

    #[test]
    fn the_ops_see_every_weight_layer() {
        let dev = Device::Cpu;
        let net = Network::new(ModelName::ResNet20, 32, 10, 2, &dev).unwrap();
        let ops = Recording(std::cell::RefCell::new(Vec::new()));
        let x = Tensor::zeros((1, 3, 32, 32), DType::F32, &dev).unwrap();
        net.forward_t(&x, false, &ops).unwrap();
        assert_eq!(
            ops.0.into_inner(),
            (0..net.layers().len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn option_a_shortcut_subsamples_and_pads() {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 16.0, &dev)
            .unwrap()
            .reshape((1, 1, 4, 4))
            .unwrap();
        let x = Tensor::cat(&[&x, &x], 1).unwrap();
        let y = option_a_shortcut(&x, 4, 2).unwrap();
        assert_eq!(y.dims(), &[1, 4, 2, 2]);
        let v: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(&v[..4], &[0.0; 4]);
        assert_eq!(&v[4..8], &[0.0, 2.0, 8.0, 10.0]);
        assert_eq!(&v[12..], &[0.0; 4]);
    }
}
