//! Model files: each component is `NAME.safetensors` (weights, `f32`) plus `NAME.json` (a
//! manifest with a format version, the component's kind and configuration, and the SHA-256 of
//! the weights file). Loading checks the version, the kind and the checksum, so a truncated or
//! edited file is refused with a clear error. Both files are written atomically.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use remedy_core::io::write_atomic;
use remedy_core::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dense::{Dense, Mlp, MlpConfig};

/// Version of the model-file layout this build writes and reads.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// A named `f32` tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl NamedTensor {
    /// From a tensor.
    pub fn from_tensor<const D: usize>(name: impl Into<String>, t: Tensor<D>) -> Self {
        NamedTensor {
            name: name.into(),
            shape: t.dims().to_vec(),
            data: crate::tensor::to_flat(t),
        }
    }
}

/// The manifest stored next to the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// What the weights are (e.g. `autoencoder`); checked on load.
    pub kind: String,
    /// Hex SHA-256 of the `.safetensors` file.
    pub weights_sha256: String,
    /// Everything else the component needs (config, scaler, threshold, feature names...).
    pub payload: serde_json::Value,
}

/// Serialises tensors into safetensors bytes.
pub fn to_safetensors(tensors: &[NamedTensor]) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| Error::invalid(format!("tensor '{}': {e}", t.name)))
        })
        .collect::<Result<_>>()?;
    safetensors::serialize(views, None).map_err(|e| Error::invalid(format!("safetensors: {e}")))
}

/// Parses safetensors bytes (f32 tensors only).
pub fn from_safetensors(bytes: &[u8], file: &str) -> Result<Vec<NamedTensor>> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(file, format!("not a valid safetensors file ({e})")))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::format(
                file,
                format!("tensor '{name}' is {:?}, expected F32", view.dtype()),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.push(NamedTensor {
            name,
            shape: view.shape().to_vec(),
            data,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The SHA-256 of `bytes` in lower-case hex: the checksum model files are checked against.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `dir/NAME.safetensors` and `dir/NAME.json` (weights first, each atomically).
pub fn save(
    dir: &Path,
    name: &str,
    kind: &str,
    payload: serde_json::Value,
    tensors: &[NamedTensor],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let weights = to_safetensors(tensors)?;
    let manifest = Manifest {
        format_version: MODEL_FORMAT_VERSION,
        kind: kind.to_string(),
        weights_sha256: sha256_hex(&weights),
        payload,
    };
    write_atomic(&dir.join(format!("{name}.safetensors")), &weights)?;
    let mut json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| Error::invalid(e.to_string()))?;
    json.push(b'\n');
    write_atomic(&dir.join(format!("{name}.json")), &json)
}

/// Reads `dir/NAME.json` and `dir/NAME.safetensors`, checking the format version, the kind and
/// the checksum. Returns the payload and the tensors by name.
pub fn load(
    dir: &Path,
    name: &str,
    kind: &str,
) -> Result<(serde_json::Value, HashMap<String, NamedTensor>)> {
    let mpath = dir.join(format!("{name}.json"));
    let wpath = dir.join(format!("{name}.safetensors"));
    let mfile = mpath.display().to_string();
    let text = std::fs::read(&mpath).map_err(|e| Error::io(&mpath, e))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Error::format(&mfile, format!("not a Remedy model manifest ({e})")))?;
    if manifest.format_version > MODEL_FORMAT_VERSION {
        return Err(Error::format(
            &mfile,
            format!(
                "model format version {} is newer than this remedy reads ({MODEL_FORMAT_VERSION}); upgrade remedy",
                manifest.format_version
            ),
        ));
    }
    if manifest.kind != kind {
        return Err(Error::format(
            &mfile,
            format!("holds a '{}' model, expected '{kind}'", manifest.kind),
        ));
    }
    let weights = std::fs::read(&wpath).map_err(|e| Error::io(&wpath, e))?;
    if sha256_hex(&weights) != manifest.weights_sha256 {
        return Err(Error::format(
            wpath.display().to_string(),
            "does not match the checksum in its manifest: the file was truncated, edited or replaced",
        ));
    }
    let tensors = from_safetensors(&weights, &wpath.display().to_string())?;
    Ok((
        manifest.payload,
        tensors.into_iter().map(|t| (t.name.clone(), t)).collect(),
    ))
}

/// The manifest payload's field `key`, or an error naming the model directory, the kind of
/// model and the field.
pub fn field<T: serde::de::DeserializeOwned>(
    payload: &serde_json::Value,
    key: &str,
    what: &str,
    dir: &Path,
) -> Result<T> {
    serde_json::from_value(payload[key].clone()).map_err(|e| {
        Error::invalid(format!(
            "{}: bad {what} manifest, field '{key}': {e}",
            dir.display()
        ))
    })
}

/// Takes the named tensor with the expected shape out of `tensors`.
pub fn take(
    tensors: &mut HashMap<String, NamedTensor>,
    name: &str,
    shape: &[usize],
) -> Result<NamedTensor> {
    let t = tensors
        .remove(name)
        .ok_or_else(|| Error::invalid(format!("model weights lack tensor '{name}'")))?;
    if t.shape != shape {
        return Err(Error::invalid(format!(
            "model tensor '{name}' has shape {:?}, expected {shape:?}",
            t.shape
        )));
    }
    Ok(t)
}

impl Mlp {
    /// Weights as named tensors `PREFIX.{i}.weight` / `PREFIX.{i}.bias`.
    pub fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.push(NamedTensor::from_tensor(
                format!("{prefix}.{i}.weight"),
                l.weight.val(),
            ));
            if let Some(b) = &l.bias {
                out.push(NamedTensor::from_tensor(
                    format!("{prefix}.{i}.bias"),
                    b.val(),
                ));
            }
        }
        out
    }

    /// Rebuilds a network of shape `config` from named tensors.
    pub fn from_named(
        config: &MlpConfig,
        prefix: &str,
        tensors: &mut HashMap<String, NamedTensor>,
        device: &Device,
    ) -> Result<Mlp> {
        let mut layers = Vec::new();
        for (i, w) in config.sizes.windows(2).enumerate() {
            let wt = take(tensors, &format!("{prefix}.{i}.weight"), &[w[0], w[1]])?;
            let weight = Param::from_data(TensorData::new(wt.data, [w[0], w[1]]), device);
            let bias = if config.bias {
                let bt = take(tensors, &format!("{prefix}.{i}.bias"), &[w[1]])?;
                Some(Param::from_data(TensorData::new(bt.data, [w[1]]), device))
            } else {
                None
            };
            layers.push(Dense { weight, bias });
        }
        Ok(Mlp {
            layers,
            config: config.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::seed;

    #[test]
    fn round_trip_is_bit_identical_and_tampering_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let device = crate::cpu();
        let cfg = MlpConfig::relu(&[4, 8, 2]);
        let net = cfg.init(&mut seed::rng(9), &device);
        save(
            dir.path(),
            "m",
            "mlp",
            serde_json::json!({"hello": 1}),
            &net.named_tensors("net"),
        )
        .unwrap();
        let (payload, mut t) = load(dir.path(), "m", "mlp").unwrap();
        assert_eq!(payload["hello"], 1);
        let back = Mlp::from_named(&cfg, "net", &mut t, &device).unwrap();
        let x = crate::tensor::from_flat((0..8).map(|i| i as f32 * 0.3).collect(), 2, 4, &device);
        assert_eq!(
            crate::tensor::to_flat(net.forward(x.clone())),
            crate::tensor::to_flat(back.forward(x))
        );
        // Wrong kind.
        let e = load(dir.path(), "m", "svdd").unwrap_err().to_string();
        assert!(e.contains("'mlp'") && e.contains("'svdd'"), "{e}");
        // One edited byte.
        let w = dir.path().join("m.safetensors");
        let mut bytes = std::fs::read(&w).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&w, &bytes).unwrap();
        let e = load(dir.path(), "m", "mlp").unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        // Truncated.
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            load(dir.path(), "m", "mlp")
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        // Corrupt manifest.
        std::fs::write(dir.path().join("m.json"), b"{not json").unwrap();
        let e = load(dir.path(), "m", "mlp").unwrap_err().to_string();
        assert!(e.contains("manifest"), "{e}");
    }

    #[test]
    fn safetensors_parse_errors_are_clear() {
        let e = from_safetensors(b"garbage", "x.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.safetensors") && e.contains("safetensors"),
            "{e}"
        );
    }
}
