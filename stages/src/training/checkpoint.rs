//! The training state as safetensors: every network variable (weights, biases,
//! batch-norm scales and running statistics), the SGD velocities (`sgd.<name>`) and the
//! number of epochs trained (metadata), so that training resumes exactly.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::models::Network;
use crate::training::sgd::Sgd;

/// Prefix of the velocity tensors.
const VELOCITY_PREFIX: &str = "sgd.";
/// Metadata key of the epoch count.
const EPOCHS_KEY: &str = "epochs";

/// Serialises the network's variables, the optimiser's velocities and `epochs`.
pub fn save(net: &Network, sgd: &Sgd, epochs: usize) -> Result<Vec<u8>> {
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut push = |name: String, t: &Tensor| -> Result<()> {
        let values: Vec<f32> = t.flatten_all()?.to_vec1()?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        named.push((name, t.dims().to_vec(), bytes));
        Ok(())
    };
    {
        let data = net.varmap().data().lock().expect("var map lock");
        for (name, var) in data.iter() {
            push(name.clone(), var.as_tensor())?;
        }
    }
    for (name, v) in sgd.velocities() {
        push(format!("{VELOCITY_PREFIX}{name}"), v)?;
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let views = named
        .iter()
        .map(|(n, shape, bytes)| {
            Ok((
                n.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([(EPOCHS_KEY.to_string(), epochs.to_string())]);
    Ok(safetensors::serialize(views, Some(meta))?)
}

/// Loads a checkpoint into `net` (and its velocities into `sgd`, if given) and returns
/// the epochs it had trained. A missing tensor or a shape that does not match the model
/// is an error naming the tensor.
pub fn load(bytes: &[u8], net: &Network, sgd: Option<&mut Sgd>) -> Result<usize> {
    let (_, meta) = SafeTensors::read_metadata(bytes).context("reading the checkpoint header")?;
    let st = SafeTensors::deserialize(bytes).context("reading the checkpoint")?;
    let tensor = |name: &str, want: &[usize], device: &Device| -> Result<Tensor> {
        let view = st.tensor(name).with_context(|| {
            format!(
                "checkpoint has no tensor `{name}` that {} needs",
                net.model()
            )
        })?;
        if view.shape() != want || view.dtype() != Dtype::F32 {
            bail!(
                "checkpoint tensor `{name}` is {:?} {:?}, but {} needs F32 {want:?}",
                view.dtype(),
                view.shape(),
                net.model()
            );
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Tensor::from_vec(values, want, device)?)
    };
    {
        let data = net.varmap().data().lock().expect("var map lock");
        for (name, var) in data.iter() {
            var.set(&tensor(name, var.dims(), var.device())?)?;
        }
    }
    if let Some(sgd) = sgd {
        let velocities: Vec<(String, Vec<usize>, Device)> = sgd
            .velocities()
            .map(|(n, v)| (n.to_string(), v.dims().to_vec(), v.device().clone()))
            .collect();
        for (name, dims, device) in velocities {
            let v = tensor(&format!("{VELOCITY_PREFIX}{name}"), &dims, &device)?;
            sgd.set_velocity(&name, v);
        }
    }
    let epochs = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(EPOCHS_KEY))
        .context("checkpoint has no epoch count")?;
    epochs
        .parse()
        .with_context(|| format!("checkpoint epoch count `{epochs}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ModelName;

    #[test]
    fn a_checkpoint_round_trips_and_a_wrong_model_is_named() {
        let dev = Device::Cpu;
        let a = Network::new(ModelName::CnnSmall, 32, 10, 1, &dev).unwrap();
        let sgd = Sgd::new(a.trainable(), 0.9, 0.0).unwrap();
        let bytes = save(&a, &sgd, 3).unwrap();
        let b = Network::new(ModelName::CnnSmall, 32, 10, 2, &dev).unwrap();
        let mut sgd_b = Sgd::new(b.trainable(), 0.9, 0.0).unwrap();
        assert_eq!(load(&bytes, &b, Some(&mut sgd_b)).unwrap(), 3);
        let w = |n: &Network| n.weight(0).flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(w(&a), w(&b));

        let other = Network::new(ModelName::CnnSmall, 32, 100, 2, &dev).unwrap();
        let err = format!("{:#}", load(&bytes, &other, None).unwrap_err());
        assert!(
            err.contains("checkpoint tensor `fc") && err.contains("needs F32"),
            "{err}"
        );
        let resnet = Network::new(ModelName::ResNet20, 32, 10, 2, &dev).unwrap();
        let err = format!("{:#}", load(&bytes, &resnet, None).unwrap_err());
        assert!(err.contains("has no tensor"), "{err}");
    }
}
