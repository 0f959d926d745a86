//! candle CPU kernels the training and the simulated crossbars run on:
//!
//! - [`conv`]: a fast conv2d op (im2col + GEMM) with its gradients;
//! - [`conv3x3`]: its 3x3 stride-1 kernels as nine shifted products, without im2col;
//! - [`batch_norm`]: batch norm fused with the residual add and ReLU, with its gradients;
//! - [`geometry`]: a convolution's sizes and its column-matrix layouts;
//! - [`gemm`]: matrix views and their product.

pub mod batch_norm;
pub mod conv;
pub mod conv3x3;
pub mod gemm;
pub mod geometry;
