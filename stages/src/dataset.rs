//! Stage 1, dataset prep: load an image classification data set, check it, optionally
//! subsample it by seed, compute per-channel normalisation, and store it as safetensors.
//!
//! Sources:
//! - the embedded default: the mini CIFAR-10 (5,000 train, 1,000 test images) compiled
//!   into the binary from `data/` (Hugging Face image Parquet layout, see `data/README.md`);
//! - [`DataSource::HfParquet`]: Parquet files with an `img` (or `image`) struct column
//!   holding encoded JPEG/PNG `bytes`, and an integer `label` column;
//! - [`DataSource::Cifar10Binary`]: the official binary release (`data_batch_1..5.bin`,
//!   `test_batch.bin`; records of 1 label byte + 3072 pixel bytes, R, G, B planes);
//! - [`DataSource::ImageFolder`]: `train/<class>/*.png|jpg` and `test/<class>/...`.
//!
//! Pixels are kept as `u8` in CHW planes (4x smaller than `f32`); the per-channel mean and
//! standard deviation of the training split are stored beside them, and
//! [`ImageSet::normalised`] applies them when batches are made.

/// The stage's name in cache keys and logs.
pub const STAGE: &str = "dataset_prep";
/// Bumped whenever a change of this module changes the stage's output.
pub const CODE_VERSION: u32 = 1;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use arrow::array::{Array, AsArray, StructArray};
use arrow::datatypes::{DataType, Int64Type};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

/// The embedded mini CIFAR-10 training split (Parquet).
pub const EMBEDDED_TRAIN: &[u8] = include_bytes!("../../data/mini-train.parquet");
/// The embedded mini CIFAR-10 test split (Parquet).
pub const EMBEDDED_TEST: &[u8] = include_bytes!("../../data/mini-test.parquet");
/// CIFAR-10's classes, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The mini CIFAR-10 compiled into the binary.
    Embedded,
    /// Hugging Face-style image Parquet files (CIFAR-10 labels, 10 classes).
    HfParquet {
        /// Training split file.
        train: PathBuf,
        /// Test split file.
        test: PathBuf,
    },
    /// A directory with the official CIFAR-10 binary batches.
    Cifar10Binary {
        /// The directory holding `data_batch_*.bin` and `test_batch.bin`.
        dir: PathBuf,
    },
    /// A directory with `train/<class>/*` and `test/<class>/*` image files.
    ImageFolder {
        /// The root directory.
        dir: PathBuf,
    },
}

/// One split: `n` images of `3 x height x width` u8 pixels (CHW planes) and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Pixels, image-major, then channel, row, column.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
}

/// A prepared data set: the stage's output.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDataset {
    /// The training split.
    pub train: ImageSet,
    /// The test split.
    pub test: ImageSet,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Per-channel mean of the training pixels, on the [0, 1] scale.
    pub mean: [f32; 3],
    /// Per-channel standard deviation of the training pixels, on the [0, 1] scale.
    pub std: [f32; 3],
}

/// The dataset stage's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetParams {
    /// Where the images come from.
    pub source: DataSource,
    /// Keep this many training images, chosen by seed (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Keep this many test images, chosen by seed (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
}

impl ImageSet {
    fn empty() -> Self {
        ImageSet {
            pixels: Vec::new(),
            labels: Vec::new(),
            height: 0,
            width: 0,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        3 * self.height * self.width
    }

    /// Image `i`'s pixels, normalised per channel with `mean` and `std`.
    pub fn normalised(&self, i: usize, mean: &[f32; 3], std: &[f32; 3]) -> Vec<f32> {
        let plane = self.height * self.width;
        let img = &self.pixels[i * self.image_len()..(i + 1) * self.image_len()];
        img.iter()
            .enumerate()
            .map(|(j, &p)| {
                let c = j / plane;
                (f32::from(p) / 255.0 - mean[c]) / std[c]
            })
            .collect()
    }

    fn push(
        &mut self,
        chw: &[u8],
        height: usize,
        width: usize,
        label: u8,
        what: &str,
    ) -> Result<()> {
        if self.is_empty() {
            self.height = height;
            self.width = width;
        } else if (height, width) != (self.height, self.width) {
            bail!(
                "{what}: image is {height}x{width}, but earlier images are {}x{}",
                self.height,
                self.width
            );
        }
        self.pixels.extend_from_slice(chw);
        self.labels.push(label);
        Ok(())
    }

    /// Keeps `n` images chosen by a seeded shuffle, in their original order.
    fn subsample(&self, n: usize, seed: u64, split: &str) -> Result<ImageSet> {
        ensure!(
            n > 0 && n <= self.len(),
            "{split}_subset = {n} must be between 1 and the {} images of the {split} split",
            self.len()
        );
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        idx.truncate(n);
        idx.sort_unstable();
        let mut out = ImageSet::empty();
        out.height = self.height;
        out.width = self.width;
        let len = self.image_len();
        for i in idx {
            out.pixels
                .extend_from_slice(&self.pixels[i * len..(i + 1) * len]);
            out.labels.push(self.labels[i]);
        }
        Ok(out)
    }
}

/// A content fingerprint of the source's files (what the cache key covers, so moving or
/// renaming the files keeps the cache, and changing a byte invalidates it).
pub fn fingerprint(source: &DataSource) -> Result<String> {
    let mut h = blake3::Hasher::new();
    match source {
        DataSource::Embedded => {
            h.update(EMBEDDED_TRAIN);
            h.update(EMBEDDED_TEST);
        }
        DataSource::HfParquet { train, test } => {
            for p in [train, test] {
                h.update(&read_file(p)?);
            }
        }
        DataSource::Cifar10Binary { dir } => {
            for p in cifar_files(dir)?.iter().flat_map(|(_, files)| files) {
                h.update(&read_file(p)?);
            }
        }
        DataSource::ImageFolder { dir } => {
            let (classes, files) = image_folder_files(dir)?;
            h.update(classes.join("\n").as_bytes());
            for (p, label) in files.iter().flat_map(|(_, f)| f) {
                h.update(
                    p.strip_prefix(dir)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .as_bytes(),
                );
                h.update(&[*label]);
                h.update(&read_file(p)?);
            }
        }
    }
    Ok(h.finalize().to_hex().to_string())
}

/// Runs the stage: loads, checks, subsamples and normalises.
pub fn prepare(params: &DatasetParams, seed: u64) -> Result<PreparedDataset> {
    let (train, test, classes) = load(&params.source)?;
    ensure!(!train.is_empty(), "the training split has no images");
    ensure!(!test.is_empty(), "the test split has no images");
    ensure!(
        (train.height, train.width) == (test.height, test.width),
        "train images are {}x{} but test images are {}x{}",
        train.height,
        train.width,
        test.height,
        test.width
    );
    let train = match params.train_subset {
        Some(n) => train.subsample(n, seed, "train")?,
        None => train,
    };
    let test = match params.test_subset {
        Some(n) => test.subsample(n, seed ^ 0x7e57, "test")?,
        None => test,
    };
    let (mean, std) = channel_stats(&train);
    Ok(PreparedDataset {
        train,
        test,
        classes,
        mean,
        std,
    })
}

fn channel_stats(set: &ImageSet) -> ([f32; 3], [f32; 3]) {
    let plane = set.height * set.width;
    let mut sum = [0f64; 3];
    let mut sq = [0f64; 3];
    for img in set.pixels.chunks_exact(set.image_len()) {
        for c in 0..3 {
            for &p in &img[c * plane..(c + 1) * plane] {
                let v = f64::from(p) / 255.0;
                sum[c] += v;
                sq[c] += v * v;
            }
        }
    }
    let n = (set.len() * plane) as f64;
    let mut mean = [0f32; 3];
    let mut std = [0f32; 3];
    for c in 0..3 {
        let m = sum[c] / n;
        mean[c] = m as f32;
        // A constant channel would divide by zero: floor the std.
        std[c] = (sq[c] / n - m * m).max(0.0).sqrt().max(1e-3) as f32;
    }
    (mean, std)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("data set file {} cannot be read", path.display()))
}

/// Loads both splits and the class names of a source.
pub fn load(source: &DataSource) -> Result<(ImageSet, ImageSet, Vec<String>)> {
    let cifar = || CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
    match source {
        DataSource::Embedded => Ok((
            load_hf_parquet(EMBEDDED_TRAIN.to_vec(), "embedded mini-train.parquet")?,
            load_hf_parquet(EMBEDDED_TEST.to_vec(), "embedded mini-test.parquet")?,
            cifar(),
        )),
        DataSource::HfParquet { train, test } => Ok((
            load_hf_parquet(read_file(train)?, &train.display().to_string())?,
            load_hf_parquet(read_file(test)?, &test.display().to_string())?,
            cifar(),
        )),
        DataSource::Cifar10Binary { dir } => {
            let mut splits = Vec::new();
            for (_, files) in cifar_files(dir)? {
                let mut set = ImageSet::empty();
                for f in files {
                    load_cifar_binary(&read_file(&f)?, &f, &mut set)?;
                }
                splits.push(set);
            }
            let test = splits.pop().expect("two splits");
            let train = splits.pop().expect("two splits");
            Ok((train, test, cifar()))
        }
        DataSource::ImageFolder { dir } => {
            let (classes, files) = image_folder_files(dir)?;
            let mut splits = Vec::new();
            for (_, files) in files {
                let mut set = ImageSet::empty();
                for (path, label) in files {
                    let what = path.display().to_string();
                    let (chw, h, w) = decode(&read_file(&path)?, &what)?;
                    set.push(&chw, h, w, label, &what)?;
                }
                splits.push(set);
            }
            let test = splits.pop().expect("two splits");
            let train = splits.pop().expect("two splits");
            Ok((train, test, classes))
        }
    }
}

/// Decodes JPEG or PNG bytes into CHW u8 planes.
fn decode(bytes: &[u8], what: &str) -> Result<(Vec<u8>, usize, usize)> {
    let img = image::load_from_memory(bytes)
        .with_context(|| format!("{what}: image bytes do not decode"))?
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut chw = vec![0u8; 3 * h * w];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            chw[c * h * w + i] = px.0[c];
        }
    }
    Ok((chw, h, w))
}

/// Every record batch of a Parquet file's bytes.
fn read_parquet_bytes(bytes: Vec<u8>) -> Result<Vec<arrow::array::RecordBatch>> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes),
    )?
    .build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn load_hf_parquet(bytes: Vec<u8>, what: &str) -> Result<ImageSet> {
    let batches = read_parquet_bytes(bytes)
        .with_context(|| format!("data file {what} is not a readable Parquet file"))?;
    let mut set = ImageSet::empty();
    let mut row = 0usize;
    for batch in batches {
        let images = batch
            .column_by_name("img")
            .or_else(|| batch.column_by_name("image"))
            .with_context(|| format!("{what}: no `img` or `image` column"))?;
        let images: &StructArray = images
            .as_struct_opt()
            .with_context(|| format!("{what}: the image column is not a struct of bytes"))?;
        let bytes_col = images
            .column_by_name("bytes")
            .with_context(|| format!("{what}: the image column has no `bytes` field"))?;
        let labels = batch
            .column_by_name("label")
            .with_context(|| format!("{what}: no `label` column"))?;
        let labels = arrow::compute::cast(labels, &DataType::Int64)
            .with_context(|| format!("{what}: the label column is not an integer"))?;
        let labels = labels.as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let here = format!("{what} row {row}");
            let encoded: &[u8] = match bytes_col.data_type() {
                DataType::Binary => bytes_col.as_binary::<i32>().value(i),
                DataType::LargeBinary => bytes_col.as_binary::<i64>().value(i),
                DataType::BinaryView => bytes_col.as_binary_view().value(i),
                t => bail!("{what}: image bytes have type {t}, expected binary"),
            };
            ensure!(!labels.is_null(i), "{here}: label is missing");
            let label = labels.value(i);
            ensure!(
                (0..CIFAR10_CLASSES.len() as i64).contains(&label),
                "{here}: label {label} is out of range 0..={}",
                CIFAR10_CLASSES.len() - 1
            );
            let (chw, h, w) = decode(encoded, &here)?;
            set.push(&chw, h, w, label as u8, &here)?;
            row += 1;
        }
    }
    ensure!(!set.is_empty(), "data file {what} holds no images");
    Ok(set)
}

/// The binary batch files of each split (train, then test).
fn cifar_files(dir: &Path) -> Result<Vec<(&'static str, Vec<PathBuf>)>> {
    ensure!(
        dir.is_dir(),
        "CIFAR-10 binary directory {} does not exist",
        dir.display()
    );
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    let train: Vec<PathBuf> = (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .filter(|p| p.is_file())
        .collect();
    ensure!(
        !train.is_empty(),
        "no data_batch_*.bin in {}",
        dir.display()
    );
    let test = dir.join("test_batch.bin");
    ensure!(test.is_file(), "no test_batch.bin in {}", dir.display());
    Ok(vec![("train", train), ("test", vec![test])])
}

/// Parses CIFAR-10 binary records (1 label byte + 3072 pixel bytes) into `set`.
fn load_cifar_binary(bytes: &[u8], path: &Path, set: &mut ImageSet) -> Result<()> {
    const RECORD: usize = 1 + 3 * 32 * 32;
    ensure!(
        !bytes.is_empty() && bytes.len().is_multiple_of(RECORD),
        "{} is not a CIFAR-10 binary batch: {} bytes is not a multiple of {RECORD}",
        path.display(),
        bytes.len()
    );
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        let what = format!("{} record {i}", path.display());
        ensure!(
            rec[0] < 10,
            "{what}: label {} is out of range 0..=9",
            rec[0]
        );
        set.push(&rec[1..], 32, 32, rec[0], &what)?;
    }
    Ok(())
}

type SplitFiles = Vec<(&'static str, Vec<(PathBuf, u8)>)>;

/// The class names (sorted subdirectories of `train/`) and each split's labelled files.
fn image_folder_files(dir: &Path) -> Result<(Vec<String>, SplitFiles)> {
    let subdirs = |p: &Path| -> Result<Vec<String>> {
        let mut names = Vec::new();
        for e in fs::read_dir(p)
            .with_context(|| format!("image folder {} cannot be read", p.display()))?
        {
            let e = e?;
            if e.file_type()?.is_dir() {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    };
    let classes = subdirs(&dir.join("train"))?;
    ensure!(
        !classes.is_empty(),
        "image folder {} has no class directories under train/",
        dir.display()
    );
    ensure!(
        classes.len() <= 256,
        "image folder {} has more than 256 classes",
        dir.display()
    );
    let mut splits = Vec::new();
    for split in ["train", "test"] {
        let mut files = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let cdir = dir.join(split).join(class);
            if !cdir.is_dir() {
                continue;
            }
            let mut paths: Vec<PathBuf> = fs::read_dir(&cdir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
                    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
                })
                .collect();
            paths.sort();
            files.extend(paths.into_iter().map(|p| (p, label as u8)));
        }
        if split == "test" {
            for class in subdirs(&dir.join("test"))? {
                ensure!(
                    classes.contains(&class),
                    "image folder test/{class} is not a class of train/"
                );
            }
        }
        splits.push((split, files));
    }
    Ok((classes, splits))
}

/// Serialises a prepared data set to safetensors bytes.
pub fn to_safetensors(ds: &PreparedDataset) -> Result<Vec<u8>> {
    let f32_bytes = |v: &[f32; 3]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (mean, std) = (f32_bytes(&ds.mean), f32_bytes(&ds.std));
    let image_shape = |s: &ImageSet| vec![s.len(), 3, s.height, s.width];
    let tensors = vec![
        (
            "train_images",
            TensorView::new(Dtype::U8, image_shape(&ds.train), &ds.train.pixels)?,
        ),
        (
            "train_labels",
            TensorView::new(Dtype::U8, vec![ds.train.len()], &ds.train.labels)?,
        ),
        (
            "test_images",
            TensorView::new(Dtype::U8, image_shape(&ds.test), &ds.test.pixels)?,
        ),
        (
            "test_labels",
            TensorView::new(Dtype::U8, vec![ds.test.len()], &ds.test.labels)?,
        ),
        ("mean", TensorView::new(Dtype::F32, vec![3], &mean)?),
        ("std", TensorView::new(Dtype::F32, vec![3], &std)?),
    ];
    let meta = HashMap::from([("classes".to_string(), serde_json::to_string(&ds.classes)?)]);
    Ok(safetensors::serialize(tensors, Some(meta))?)
}

/// Reads a prepared data set back from safetensors bytes.
pub fn from_safetensors(bytes: &[u8]) -> Result<PreparedDataset> {
    let st = safetensors::SafeTensors::deserialize(bytes)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)?;
    let classes: Vec<String> = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("classes"))
        .map(|s| serde_json::from_str(s))
        .transpose()?
        .context("dataset tensors lack the class list")?;
    let split = |prefix: &str| -> Result<ImageSet> {
        let images = st.tensor(&format!("{prefix}_images"))?;
        let labels = st.tensor(&format!("{prefix}_labels"))?;
        let shape = images.shape();
        ensure!(
            shape.len() == 4 && shape[1] == 3,
            "{prefix}_images has shape {shape:?}"
        );
        Ok(ImageSet {
            pixels: images.data().to_vec(),
            labels: labels.data().to_vec(),
            height: shape[2],
            width: shape[3],
        })
    };
    let vec3 = |name: &str| -> Result<[f32; 3]> {
        let t = st.tensor(name)?;
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        v.try_into()
            .map_err(|_| anyhow::anyhow!("tensor {name} is not of length 3"))
    };
    Ok(PreparedDataset {
        train: split("train")?,
        test: split("test")?,
        classes,
        mean: vec3("mean")?,
        std: vec3("std")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Fields, Schema};

    /// A deterministic 32x32 test image whose pixels depend on `seed`.
    fn image(seed: u8) -> image::RgbImage {
        image::RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([seed.wrapping_mul(7), (x * 8) as u8, (y * 8) as u8])
        })
    }

    fn png_bytes(img: &image::RgbImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn chw(img: &image::RgbImage) -> Vec<u8> {
        (0..3)
            .flat_map(|c| img.pixels().map(move |p| p.0[c]))
            .collect()
    }

    /// Writes an HF-layout Parquet file of `n` PNG images with labels `i % 10` (or `bad_label`).
    fn hf_parquet(path: &Path, n: u8, bad_label: Option<i64>, bad_bytes: bool) {
        let encoded: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                if bad_bytes && i == 1 {
                    b"not an image".to_vec()
                } else {
                    png_bytes(&image(i))
                }
            })
            .collect();
        let fields = Fields::from(vec![
            Field::new("bytes", DataType::Binary, true),
            Field::new("path", DataType::Utf8, true),
        ]);
        let img = StructArray::new(
            fields.clone(),
            vec![
                Arc::new(BinaryArray::from_iter_values(encoded.iter())),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{i}.png")),
                )),
            ],
            None,
        );
        let labels = Int64Array::from_iter_values((0..n).map(|i| {
            if i == 2 {
                bad_label.unwrap_or(2)
            } else {
                i64::from(i % 10)
            }
        }));
        let schema = Arc::new(Schema::new(vec![
            Field::new("img", DataType::Struct(fields), true),
            Field::new("label", DataType::Int64, true),
        ]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(img), Arc::new(labels)]).unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(fs::File::create(path).unwrap(), schema, None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn hf_parquet_loader_decodes_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let (train, test) = (
            dir.path().join("train.parquet"),
            dir.path().join("test.parquet"),
        );
        hf_parquet(&train, 12, None, false);
        hf_parquet(&test, 4, None, false);
        let (tr, te, classes) = load(&DataSource::HfParquet { train, test }).unwrap();
        assert_eq!((tr.len(), te.len(), classes.len()), (12, 4, 10));
        assert_eq!((tr.height, tr.width), (32, 32));
        assert_eq!(
            &tr.pixels[3 * 1024 * 5..3 * 1024 * 6],
            chw(&image(5)).as_slice()
        );
        assert_eq!(tr.labels[11], 1);
    }

    #[test]
    fn hf_parquet_bad_inputs_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.parquet");
        hf_parquet(&good, 3, None, false);
        let cases: Vec<(PathBuf, &str)> = vec![
            {
                let p = dir.path().join("label.parquet");
                hf_parquet(&p, 3, Some(12), false);
                (p, "label 12 is out of range")
            },
            {
                let p = dir.path().join("bytes.parquet");
                hf_parquet(&p, 3, None, true);
                (p, "do not decode")
            },
            {
                let p = dir.path().join("text.parquet");
                fs::write(&p, "this is not parquet").unwrap();
                (p, "not a readable Parquet file")
            },
            {
                let p = dir.path().join("empty.parquet");
                hf_parquet(&p, 0, None, false);
                (p, "holds no images")
            },
            (dir.path().join("missing.parquet"), "cannot be read"),
        ];
        for (path, expected) in cases {
            let src = DataSource::HfParquet {
                train: path.clone(),
                test: good.clone(),
            };
            let err = format!("{:#}", load(&src).unwrap_err());
            assert!(err.contains(expected), "{err}");
            assert!(
                err.contains(path.file_name().unwrap().to_str().unwrap()),
                "{err}"
            );
        }
    }

    #[test]
    fn cifar_binary_loader_reads_records() {
        let dir = tempfile::tempdir().unwrap();
        let record = |label: u8, seed: u8| {
            let mut r = vec![label];
            r.extend(chw(&image(seed)));
            r
        };
        let train: Vec<u8> = (0..3).flat_map(|i| record(i, i)).collect();
        fs::write(dir.path().join("data_batch_1.bin"), &train).unwrap();
        fs::write(dir.path().join("data_batch_2.bin"), record(9, 9)).unwrap();
        fs::write(dir.path().join("test_batch.bin"), record(4, 4)).unwrap();
        let src = DataSource::Cifar10Binary {
            dir: dir.path().to_path_buf(),
        };
        let (tr, te, _) = load(&src).unwrap();
        assert_eq!(tr.labels, vec![0, 1, 2, 9]);
        assert_eq!(te.labels, vec![4]);
        assert_eq!(&tr.pixels[3072..6144], chw(&image(1)).as_slice());
        fs::write(dir.path().join("test_batch.bin"), &record(4, 4)[..100]).unwrap();
        let err = load(&src).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("multiple of 3073"),
            "{err}"
        );
        fs::write(dir.path().join("test_batch.bin"), record(10, 4)).unwrap();
        let err = load(&src).unwrap_err().to_string();
        assert!(err.contains("label 10 is out of range"), "{err}");
    }

    #[test]
    fn image_folder_loader_uses_sorted_class_dirs() {
        let dir = tempfile::tempdir().unwrap();
        for (split, class, seed) in [
            ("train", "cat", 1),
            ("train", "ant", 2),
            ("train", "cat", 3),
            ("test", "ant", 4),
        ] {
            let d = dir.path().join(split).join(class);
            fs::create_dir_all(&d).unwrap();
            image(seed).save(d.join(format!("{seed}.png"))).unwrap();
        }
        let src = DataSource::ImageFolder {
            dir: dir.path().to_path_buf(),
        };
        let (tr, te, classes) = load(&src).unwrap();
        assert_eq!(classes, vec!["ant", "cat"]);
        assert_eq!(tr.labels, vec![0, 1, 1]);
        assert_eq!(te.labels, vec![0]);
        assert_eq!(&te.pixels[..], chw(&image(4)).as_slice());
    }

    #[test]
    fn embedded_data_subsamples_deterministically_and_round_trips() {
        let params = DatasetParams {
            source: DataSource::Embedded,
            train_subset: Some(200),
            test_subset: Some(50),
        };
        let a = prepare(&params, 1).unwrap();
        assert_eq!((a.train.len(), a.test.len()), (200, 50));
        assert_eq!(a, prepare(&params, 1).unwrap());
        assert_ne!(a.train.labels, prepare(&params, 2).unwrap().train.labels);
        for c in 0..3 {
            assert!(a.mean[c] > 0.3 && a.mean[c] < 0.6, "{:?}", a.mean);
            assert!(a.std[c] > 0.15 && a.std[c] < 0.35, "{:?}", a.std);
        }
        let x = a.train.normalised(0, &a.mean, &a.std);
        assert_eq!(x.len(), 3072);
        assert_eq!(from_safetensors(&to_safetensors(&a).unwrap()).unwrap(), a);
        let too_many = DatasetParams {
            train_subset: Some(6000),
            ..params
        };
        assert!(prepare(&too_many, 1)
            .unwrap_err()
            .to_string()
            .contains("train_subset"));
    }
}
