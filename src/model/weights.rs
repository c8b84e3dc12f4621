//! The checkpoint's safetensors files, mapped once: the bytes hashed for the provenance are the
//! bytes the model is loaded from, so a file replaced between the two cannot go unnoticed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use safetensors::tensor::{TensorInfo, TensorView};
use safetensors::SafeTensors;

use super::ModelError;

/// The little-endian u64 that starts a safetensors file: its header's length.
const HEADER_LEN_BYTES: usize = 8;

/// Mapped weight files and where each tensor lies in them.
pub struct MappedWeights {
    paths: Vec<PathBuf>,
    /// Shared with the thread that hashes them while the model loads.
    maps: Arc<[memmap2::Mmap]>,
    tensors: HashMap<String, Located>,
}

/// A tensor's header entry and the file that holds it. Headers are parsed once, in `open`:
/// parsing the file's whole JSON header again for each of its tensors was 4.5% of loading
/// BERT-base.
struct Located {
    file: usize,
    /// Where the file's data section starts: after the length prefix and the header.
    data_start: usize,
    info: TensorInfo,
}

impl MappedWeights {
    /// Maps `files` (one checkpoint, or the shards of one) read-only and indexes their tensors.
    pub fn open(files: &[PathBuf]) -> Result<Self, ModelError> {
        let mut maps = Vec::with_capacity(files.len());
        let mut tensors = HashMap::new();
        for (index, path) in files.iter().enumerate() {
            let io = |source| ModelError::Io { path: path.clone(), source };
            let file = std::fs::File::open(path).map_err(io)?;
            // SAFETY: mapped read-only. As with every mmap-based loader, the file must not be
            // truncated or rewritten in place while it is loaded (replacing it is safe: the
            // mapping keeps the old file); model folders are not edited in place.
            let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io)?;
            check_complete(&map, path)?;
            let (header_len, metadata) = SafeTensors::read_metadata(&map)
                .map_err(|e| ModelError::Weights { path: path.clone(), source: e.into() })?;
            let data_start = HEADER_LEN_BYTES + header_len;
            for (name, info) in metadata.tensors() {
                tensors.insert(name, Located { file: index, data_start, info: info.clone() });
            }
            maps.push(map);
        }
        Ok(Self { paths: files.to_vec(), maps: maps.into(), tensors })
    }

    /// The files, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// SHA-256 of the mapped bytes (the shards of one checkpoint hash as the digest of their
    /// digests, in order), computed on another thread: hashing is a third of a base-size
    /// model's load time even with SHA-NI, and overlaps building the model from the same bytes.
    pub fn sha256_in_background(&self) -> std::thread::JoinHandle<String> {
        let maps = Arc::clone(&self.maps);
        std::thread::spawn(move || digest(&maps))
    }

    fn load(&self, name: &str, device: &Device) -> candle_core::Result<Tensor> {
        let Located { file, data_start, info } = self
            .tensors
            .get(name)
            .ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.to_owned() }.bt())?;
        // `read_metadata` checked every tensor's offsets against the file's length.
        let (begin, end) = info.data_offsets;
        let bytes = &self.maps[*file][data_start + begin..data_start + end];
        TensorView::new(info.dtype, info.shape.clone(), bytes)?.load(device)
    }
}

impl SimpleBackend for MappedWeights {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.load(name, device)?.to_dtype(dtype)?;
        if tensor.shape() != &shape {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("shape mismatch for {name}"),
                expected: shape,
                got: tensor.shape().clone(),
            }
            .bt());
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
        self.load(name, device)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

fn digest(maps: &[memmap2::Mmap]) -> String {
    let digests: Vec<String> = maps.iter().map(|map| crate::provenance::sha256_bytes(map)).collect();
    match digests.as_slice() {
        [one] => one.clone(),
        many => crate::provenance::sha256_bytes(many.join("\n").as_bytes()),
    }
}

/// Fails with [`ModelError::TruncatedWeights`] when a safetensors file is shorter than its
/// header says (an interrupted download or copy), so the error names the file and the cause
/// instead of a parse failure deep in the loader. Other damage is left to the loader.
fn check_complete(bytes: &[u8], path: &Path) -> Result<(), ModelError> {
    let actual = bytes.len() as u64;
    let truncated = |expected| Err(ModelError::TruncatedWeights { path: path.to_owned(), expected, actual });
    let Some(prefix) = bytes.first_chunk::<HEADER_LEN_BYTES>() else {
        return truncated(HEADER_LEN_BYTES as u64);
    };
    let header_len = u64::from_le_bytes(*prefix);
    // A header length beyond any real file is a damaged prefix, not a short file.
    if header_len > 100 << 20 {
        return Ok(());
    }
    let data_start = HEADER_LEN_BYTES as u64 + header_len;
    if data_start > actual {
        return truncated(data_start);
    }
    let header = &bytes[8..data_start as usize];
    let Ok(serde_json::Value::Object(tensors)) = serde_json::from_slice::<serde_json::Value>(header) else {
        return Ok(());
    };
    let data_len =
        tensors.values().filter_map(|t| t.get("data_offsets")?.get(1)?.as_u64()).max().unwrap_or(0);
    let expected = data_start.saturating_add(data_len);
    if expected > actual {
        return truncated(expected);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(dir: &Path, name: &str, value: f32) -> PathBuf {
        let data: Vec<u8> = [value; 6].iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 3], &data).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, safetensors::serialize([("w", view)], None).unwrap()).unwrap();
        path
    }

    #[test]
    fn the_hash_is_of_the_bytes_loaded_even_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = checkpoint(dir.path(), "model.safetensors", 1.0);
        let weights = MappedWeights::open(std::slice::from_ref(&path)).unwrap();
        let original = crate::provenance::sha256_bytes(&std::fs::read(&path).unwrap());
        // Another checkpoint renamed over the file after it was opened.
        let other = checkpoint(dir.path(), "other.safetensors", 2.0);
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(weights.sha256_in_background().join().unwrap(), original);
        let loaded = weights.get_unchecked("w", DType::F32, &Device::Cpu).unwrap();
        assert_eq!(loaded.flatten_all().unwrap().to_vec1::<f32>().unwrap(), [1.0; 6]);
        assert!(weights.contains_tensor("w") && !weights.contains_tensor("v"));
    }

    #[test]
    fn a_truncated_file_names_the_bytes_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = checkpoint(dir.path(), "model.safetensors", 1.0);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        let Err(err) = MappedWeights::open(std::slice::from_ref(&path)) else { panic!("opened") };
        assert!(
            matches!(err, ModelError::TruncatedWeights { expected, actual, .. } if expected == actual + 4),
            "{err:?}"
        );
    }
}
