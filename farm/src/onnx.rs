//! ONNX Runtime, loaded once per process from the assets folder, and sessions on it; a
//! model's inner tensor can be made one of its outputs in memory (the speech engines'
//! phoneme durations), the pinned file staying as it is.

use crate::assets::Assets;
use crate::error::FarmError;
use ort::environment::Environment;
use ort::session::Session;
use std::path::Path;
use std::sync::OnceLock;

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

fn environment(assets: &Assets) -> Result<&'static Environment, FarmError> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = assets.onnxruntime_library().map_err(|e| e.to_string())?;
            tracing::debug!(library = %lib.display(), "loading ONNX Runtime");
            ort::init_from(&lib)
                .map_err(|e| format!("cannot load {}: {e}", lib.display()))?
                .with_name("spinbot")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| FarmError::Assets(e.clone()))
}

/// A session for the model at `path`, using `threads` intra-op threads.
pub fn session(assets: &Assets, path: &Path, threads: usize) -> Result<Session, FarmError> {
    let env = environment(assets)?;
    let model_error = |e: String| FarmError::Model(format!("{}: {e}", path.display()));
    Session::builder(env)
        .map_err(|e| model_error(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| model_error(e.to_string()))?
        .commit_from_file(path)
        .map_err(|e| model_error(e.to_string()))
}

/// ONNX element types of the inner tensors read as outputs.
pub const FLOAT: u64 = 1;
pub const INT64: u64 = 7;

/// A session for the model at `path` whose inner tensor `name` (of ONNX element type
/// `elem_type`) is also an output, so one run gives it with the rest.
pub fn session_with_output(
    assets: &Assets,
    path: &Path,
    threads: usize,
    name: &str,
    elem_type: u64,
) -> Result<Session, FarmError> {
    let env = environment(assets)?;
    let model_error = |e: String| FarmError::Model(format!("{}: {e}", path.display()));
    let bytes =
        std::fs::read(path).map_err(|e| FarmError::io(format!("reading {}", path.display()), e))?;
    let model = with_graph_output(&bytes, name, elem_type)
        .ok_or_else(|| model_error("not an ONNX model with a graph".into()))?;
    Session::builder(env)
        .map_err(|e| model_error(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| model_error(e.to_string()))?
        .commit_from_memory(&model)
        .map_err(|e| model_error(e.to_string()))
}

/// `model` (a serialised `ModelProto`) with one more `GraphProto.output`: a `ValueInfoProto`
/// naming `name` as a tensor of `elem_type`. Protobuf lets a repeated field be appended to
/// the end of its message, so only the graph's length prefix changes.
fn with_graph_output(model: &[u8], name: &str, elem_type: u64) -> Option<Vec<u8>> {
    const GRAPH: u64 = 7;
    const OUTPUT: u64 = 12;
    let mut pos = 0;
    while pos < model.len() {
        let start = pos;
        let key = read_varint(model, &mut pos)?;
        match key & 7 {
            0 => {
                read_varint(model, &mut pos)?;
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let len = usize::try_from(read_varint(model, &mut pos)?).ok()?;
                let body = pos;
                pos = pos.checked_add(len).filter(|&end| end <= model.len())?;
                if key >> 3 == GRAPH {
                    // TypeProto.Tensor { elem_type (1, varint) }
                    let tensor = [vec![0x08], varint(elem_type)].concat();
                    let type_proto = field(1, &tensor);
                    let value_info = [field(1, name.as_bytes()), field(2, &type_proto)].concat();
                    let output = field(OUTPUT, &value_info);
                    let mut out = Vec::with_capacity(model.len() + output.len() + 8);
                    out.extend_from_slice(&model[..start]);
                    out.extend(varint(key));
                    out.extend(varint((len + output.len()) as u64));
                    out.extend_from_slice(&model[body..pos]);
                    out.extend(output);
                    out.extend_from_slice(&model[pos..]);
                    return Some(out);
                }
            }
            _ => return None,
        }
    }
    None
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A length-delimited protobuf field.
fn field(number: u64, body: &[u8]) -> Vec<u8> {
    let mut out = varint(number << 3 | 2);
    out.extend(varint(body.len() as u64));
    out.extend_from_slice(body);
    out
}

/// Threads for one model: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_is_appended_to_the_graph_and_nothing_else_moves() {
        // ir_version 8, graph { name "g" }, opset_import { version 15 }.
        let graph = field(2, b"g");
        let model = [vec![0x08, 0x08], field(7, &graph), field(8, &[0x10, 0x0f])].concat();
        let patched = with_graph_output(&model, "/Ceil_output_0", FLOAT).expect("patched");
        let value_info = [
            field(1, b"/Ceil_output_0"),
            field(2, &field(1, &[0x08, 0x01])),
        ]
        .concat();
        let expected = [
            vec![0x08, 0x08],
            field(7, &[graph, field(12, &value_info)].concat()),
            field(8, &[0x10, 0x0f]),
        ]
        .concat();
        assert_eq!(patched, expected);
        assert_eq!(with_graph_output(&[0x08, 0x08], "x", INT64), None);
        assert_eq!(with_graph_output(&[0x3a, 0x7f, 0x00], "x", INT64), None);
        assert_eq!(varint(300), vec![0xac, 0x02]);
    }
}
