//! libtorch (tch) and ONNX Runtime (ort) live in one process: each brings its own OpenMP and
//! protobuf, so both are used here, interleaved, and their results checked.

mod common;

use ort::value::Tensor as OrtTensor;
use spinbot_farm::onnx;
use tch::{Device, Kind, Tensor};

fn torch_checks() {
    let a = Tensor::from_slice(&[1f32, 2., 3., 4.]).view([2, 2]);
    let product: Vec<f32> = a.matmul(&a).view([-1]).try_into().expect("to vec");
    assert_eq!(product, vec![7., 10., 15., 22.]);
    // grid_sample with the identity grid reproduces its input.
    let img = Tensor::randn([1, 3, 8, 12], (Kind::Float, Device::Cpu));
    let theta = Tensor::from_slice(&[1f32, 0., 0., 0., 1., 0.]).view([1, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, [1, 3, 8, 12], true);
    let out = img.grid_sampler(&grid, 0, 0, true);
    let err = (&out - &img).abs().max().double_value(&[]);
    assert!(err < 1e-5, "grid_sample error {err}");
}

fn onnx_checks() {
    let assets = common::assets();
    let path = assets.face_model("rnet").expect("rnet");
    let mut session = onnx::session(&assets, &path, 2).expect("session");
    // Two identical crops must score identically, and the scores are probabilities.
    let crop: Vec<f32> = (0..24 * 24 * 3)
        .map(|i| ((i % 97) as f32 / 97.0) - 0.5)
        .collect();
    let both: Vec<f32> = crop.iter().chain(crop.iter()).copied().collect();
    let input = OrtTensor::from_array(([2usize, 24, 24, 3], both)).expect("tensor");
    let outputs = session.run(ort::inputs![input]).expect("run");
    let (shape, prob) = outputs[1]
        .try_extract_tensor::<f32>()
        .expect("probabilities");
    assert_eq!(shape.to_vec(), vec![2, 2]);
    assert!((prob[0] + prob[1] - 1.0).abs() < 1e-4, "{prob:?}");
    assert!((prob[0] - prob[2]).abs() < 1e-6, "{prob:?}");
}

#[test]
fn torch_and_onnx_runtime_work_in_one_process() {
    torch_checks();
    onnx_checks();
    torch_checks();
    // And at the same time, from two threads.
    let torch = std::thread::spawn(|| (0..20).for_each(|_| torch_checks()));
    (0..5).for_each(|_| onnx_checks());
    torch.join().expect("torch thread");
}
