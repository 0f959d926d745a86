//! Mini-batches: a seeded data order, the usual CIFAR augmentation (random crop with
//! 4-pixel zero padding, horizontal flip) and per-channel normalisation.

use candle_core::{Device, Result, Tensor};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::dataset::ImageSet;

/// Zero padding of the random crop, pixels.
pub const CROP_PADDING: usize = 4;

/// One batch on the device: images `(n, 3, h, w)` f32 and labels `(n,)` u32.
pub struct Batch {
    /// Normalised images.
    pub images: Tensor,
    /// Class labels.
    pub labels: Tensor,
}

/// How to turn pixels into network inputs.
#[derive(Debug, Clone, Copy)]
pub struct Normalisation {
    /// Per-channel mean, [0, 1] scale.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, [0, 1] scale.
    pub std: [f32; 3],
}

/// The epoch's batches of image indices: every image once, shuffled by `rng`, in
/// batches of `batch_size`; a last batch of a single image is dropped (batch norm
/// cannot train on it).
pub fn epoch_order<R: Rng + ?Sized>(n: usize, batch_size: usize, rng: &mut R) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx.chunks(batch_size)
        .filter(|c| c.len() >= 2)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The test set's batches in order.
pub fn sequential_order(n: usize, batch_size: usize) -> Vec<Vec<usize>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(batch_size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// Builds the batch of images `indices`, each randomly cropped and flipped by `rng`
/// when `augment` is set.
pub fn make_batch<R: Rng + ?Sized>(
    set: &ImageSet,
    indices: &[usize],
    norm: &Normalisation,
    augment: Option<&mut R>,
    device: &Device,
) -> Result<Batch> {
    let (h, w) = (set.height, set.width);
    let plane = h * w;
    let mut pixels = vec![0f32; indices.len() * 3 * plane];
    let mut augment = augment;
    for (slot, &i) in indices.iter().enumerate() {
        let (dy, dx, flip) = match augment.as_deref_mut() {
            Some(rng) => (
                rng.random_range(0..=2 * CROP_PADDING),
                rng.random_range(0..=2 * CROP_PADDING),
                rng.random::<bool>(),
            ),
            None => (CROP_PADDING, CROP_PADDING, false),
        };
        let src = &set.pixels[i * 3 * plane..(i + 1) * 3 * plane];
        let dst = &mut pixels[slot * 3 * plane..(slot + 1) * 3 * plane];
        for c in 0..3 {
            let pad = -norm.mean[c] / norm.std[c];
            for r in 0..h {
                let sr = (r + dy).checked_sub(CROP_PADDING).filter(|&v| v < h);
                for col in 0..w {
                    let oc = if flip { w - 1 - col } else { col };
                    let sc = (oc + dx).checked_sub(CROP_PADDING).filter(|&v| v < w);
                    dst[c * plane + r * w + col] = match (sr, sc) {
                        (Some(sr), Some(sc)) => {
                            (f32::from(src[c * plane + sr * w + sc]) / 255.0 - norm.mean[c])
                                / norm.std[c]
                        }
                        _ => pad,
                    };
                }
            }
        }
    }
    let labels: Vec<u32> = indices.iter().map(|&i| u32::from(set.labels[i])).collect();
    Ok(Batch {
        images: Tensor::from_vec(pixels, (indices.len(), 3, h, w), device)?,
        labels: Tensor::from_vec(labels, indices.len(), device)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn set() -> ImageSet {
        ImageSet {
            pixels: (0..2 * 3 * 16).map(|v| v as u8).collect(),
            labels: vec![3, 7],
            height: 4,
            width: 4,
        }
    }

    const NORM: Normalisation = Normalisation {
        mean: [0.0; 3],
        std: [1.0 / 255.0; 3],
    };

    #[test]
    fn without_augmentation_the_batch_is_the_normalised_images() {
        let b = make_batch::<ChaCha8Rng>(&set(), &[1, 0], &NORM, None, &Device::Cpu).unwrap();
        let v: Vec<f32> = b.images.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(v[0], 48.0);
        assert_eq!(v[48], 0.0);
        assert_eq!(b.labels.to_vec1::<u32>().unwrap(), vec![7, 3]);
    }

    #[test]
    fn augmentation_crops_and_flips_a_permutation_of_pixels_or_padding() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = set();
        for _ in 0..20 {
            let b = make_batch(&s, &[0], &NORM, Some(&mut rng), &Device::Cpu).unwrap();
            let v: Vec<f32> = b.images.flatten_all().unwrap().to_vec1().unwrap();
            // Every value is a source pixel of the right channel or the zero padding.
            for (j, x) in v.iter().enumerate() {
                let c = j / 16;
                assert!(
                    *x == 0.0 || (c * 16..(c + 1) * 16).contains(&(*x as usize)),
                    "{j}: {x}"
                );
            }
        }
    }

    #[test]
    fn the_epoch_order_is_seeded_and_covers_every_image() {
        let order = |s| epoch_order(10, 4, &mut ChaCha8Rng::seed_from_u64(s));
        assert_eq!(order(1), order(1));
        assert_ne!(order(1), order(2));
        let mut all: Vec<usize> = order(1).concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // A trailing batch of one is dropped.
        assert_eq!(
            epoch_order(9, 4, &mut ChaCha8Rng::seed_from_u64(1)).len(),
            2
        );
    }
}
