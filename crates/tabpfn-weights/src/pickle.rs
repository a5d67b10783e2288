//! A restricted unpickler for torch checkpoints.
//!
//! It understands the opcodes `torch.save` emits (protocols 2–5) and builds plain values.
//! Globals are resolved against a short allowlist (containers, the tensor-rebuild functions
//! and the storage types); any other global, and every opcode that would instantiate an
//! arbitrary object, is an error that names it. Nothing is ever executed.

use std::collections::HashMap;

use crate::WeightsError;

/// Element type of a torch storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StorageDtype {
    F32,
    F64,
    F16,
    Bf16,
}

impl StorageDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
            Self::F16 | Self::Bf16 => 2,
        }
    }

    /// Torch's name for the dtype.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F64 => "float64",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }

    fn from_storage_class(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::Bf16,
            _ => return None,
        })
    }

    fn from_dtype_name(name: &str) -> Option<Self> {
        Some(match name {
            "float32" | "float" => Self::F32,
            "float64" | "double" => Self::F64,
            "float16" | "half" => Self::F16,
            "bfloat16" => Self::Bf16,
            _ => return None,
        })
    }
}

/// A reference to one storage file of the archive (`<archive>/data/<key>`).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub key: String,
    pub dtype: StorageDtype,
    pub numel: usize,
}

/// A tensor view into a storage, as `torch._utils._rebuild_tensor_v2` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

/// A value of the unpickled object tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Dict and OrderedDict, in insertion order.
    Dict(Vec<(Value, Value)>),
    Tensor(TensorRef),
    /// An allowlisted callable or class, before it is applied.
    Global(Global),
    /// A storage handed out by a persistent id, before a rebuild uses it.
    Storage(StorageRef),
    /// torch.dtype objects sometimes appear in configs (`torch.float32`).
    Dtype(StorageDtype),
}

/// The globals a weights file may reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    StorageClass(StorageDtype),
    Dtype(StorageDtype),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Result<Self, WeightsError> {
        let g = match (module, name) {
            ("collections", "OrderedDict") => Self::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Self::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Self::RebuildParameter,
            ("torch", n) if StorageDtype::from_storage_class(n).is_some() => {
                Self::StorageClass(StorageDtype::from_storage_class(n).unwrap_or(StorageDtype::F32))
            }
            ("torch", n) if StorageDtype::from_dtype_name(n).is_some() => {
                Self::Dtype(StorageDtype::from_dtype_name(n).unwrap_or(StorageDtype::F32))
            }
            _ => {
                return Err(WeightsError::ForbiddenGlobal(format!("{module}.{name}")));
            }
        };
        Ok(g)
    }
}

impl Value {
    /// The entries of a dict, or `None` for any other value.
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Looks a string key up in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
            .map(|(_, v)| v)
    }

    /// A short name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Tensor(_) => "tensor",
            Value::Global(_) => "global",
            Value::Storage(_) => "storage",
            Value::Dtype(_) => "dtype",
        }
    }
}

enum Item {
    Mark,
    Val(Value),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    memo: HashMap<u32, Value>,
}

fn err(msg: impl Into<String>) -> WeightsError {
    WeightsError::Pickle(msg.into())
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WeightsError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| err(format!("truncated pickle at byte {}", self.pos)))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, WeightsError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WeightsError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WeightsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, WeightsError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn line(&mut self) -> Result<String, WeightsError> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| err("unterminated text line in pickle"))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(Item::Val(v));
    }

    fn pop(&mut self) -> Result<Value, WeightsError> {
        match self.stack.pop() {
            Some(Item::Val(v)) => Ok(v),
            Some(Item::Mark) => Err(err("unexpected MARK on the pickle stack")),
            None => Err(err("pickle stack underflow")),
        }
    }

    fn top(&mut self) -> Result<&mut Value, WeightsError> {
        match self.stack.last_mut() {
            Some(Item::Val(v)) => Ok(v),
            _ => Err(err("pickle stack underflow")),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, WeightsError> {
        let mut items = Vec::new();
        loop {
            match self.stack.pop() {
                Some(Item::Mark) => break,
                Some(Item::Val(v)) => items.push(v),
                None => return Err(err("MARK not found on the pickle stack")),
            }
        }
        items.reverse();
        Ok(items)
    }

    fn memo_get(&self, i: u32) -> Result<Value, WeightsError> {
        self.memo
            .get(&i)
            .cloned()
            .ok_or_else(|| err(format!("memo key {i} not found")))
    }

    fn memo_put(&mut self, i: u32) -> Result<(), WeightsError> {
        let v = match self.stack.last() {
            Some(Item::Val(v)) => v.clone(),
            _ => return Err(err("nothing to memoize")),
        };
        self.memo.insert(i, v);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<(), WeightsError> {
        if !items.len().is_multiple_of(2) {
            return Err(err("SETITEMS with an odd number of items"));
        }
        let target = self.top()?;
        let Value::Dict(d) = target else {
            return Err(err(format!("SETITEM(S) on a {}", target.kind())));
        };
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let Some(slot) = d.iter_mut().find(|(k2, _)| *k2 == k) {
                slot.1 = v;
            } else {
                d.push((k, v));
            }
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), WeightsError> {
        match self.top()? {
            Value::List(l) => {
                l.extend(items);
                Ok(())
            }
            other => Err(err(format!("APPEND(S) on a {}", other.kind()))),
        }
    }

    fn persistent_load(pid: Value) -> Result<Value, WeightsError> {
        let Value::Tuple(t) = pid else {
            return Err(err(format!(
                "persistent id is a {}, expected a tuple",
                pid.kind()
            )));
        };
        match t.as_slice() {
            [Value::Str(tag), ty, Value::Str(key), _location, Value::Int(numel)]
                if tag == "storage" =>
            {
                let dtype = match ty {
                    Value::Global(Global::StorageClass(d)) | Value::Global(Global::Dtype(d)) => *d,
                    Value::Dtype(d) => *d,
                    other => {
                        return Err(WeightsError::UnsupportedDtype(format!(
                            "storage of type {other:?}"
                        )))
                    }
                };
                Ok(Value::Storage(StorageRef {
                    key: key.clone(),
                    dtype,
                    numel: usize::try_from(*numel).map_err(|_| err("negative storage size"))?,
                }))
            }
            _ => Err(err(format!("unsupported persistent id {t:?}"))),
        }
    }

    fn usize_tuple(v: &Value, what: &str) -> Result<Vec<usize>, WeightsError> {
        let items = match v {
            Value::Tuple(t) | Value::List(t) => t,
            other => return Err(err(format!("tensor {what} is a {}", other.kind()))),
        };
        items
            .iter()
            .map(|i| match i {
                Value::Int(n) if *n >= 0 => Ok(*n as usize),
                other => Err(err(format!("tensor {what} holds {other:?}"))),
            })
            .collect()
    }

    fn reduce(func: Value, args: Value) -> Result<Value, WeightsError> {
        let Value::Global(g) = func else {
            return Err(err(format!(
                "REDUCE on a {}, expected an allowlisted global",
                func.kind()
            )));
        };
        let Value::Tuple(args) = args else {
            return Err(err("REDUCE arguments are not a tuple"));
        };
        match g {
            Global::OrderedDict => match args.as_slice() {
                [] => Ok(Value::Dict(Vec::new())),
                [Value::List(pairs)] => {
                    let mut d = Vec::new();
                    for p in pairs {
                        match p {
                            Value::Tuple(kv) | Value::List(kv) if kv.len() == 2 => {
                                d.push((kv[0].clone(), kv[1].clone()))
                            }
                            _ => return Err(err("OrderedDict item is not a pair")),
                        }
                    }
                    Ok(Value::Dict(d))
                }
                _ => Err(err("unsupported OrderedDict arguments")),
            },
            Global::RebuildTensorV2 => {
                if args.len() < 4 {
                    return Err(err("_rebuild_tensor_v2 needs at least 4 arguments"));
                }
                let Value::Storage(storage) = &args[0] else {
                    return Err(err("_rebuild_tensor_v2: first argument is not a storage"));
                };
                let offset = match args[1] {
                    Value::Int(o) if o >= 0 => o as usize,
                    _ => return Err(err("_rebuild_tensor_v2: bad storage offset")),
                };
                let size = Self::usize_tuple(&args[2], "size")?;
                let stride = Self::usize_tuple(&args[3], "stride")?;
                if size.len() != stride.len() {
                    return Err(err("tensor size and stride have different ranks"));
                }
                Ok(Value::Tensor(TensorRef {
                    storage: storage.clone(),
                    offset,
                    size,
                    stride,
                }))
            }
            Global::RebuildParameter => match args.into_iter().next() {
                Some(t @ Value::Tensor(_)) => Ok(t),
                _ => Err(err("_rebuild_parameter: first argument is not a tensor")),
            },
            Global::StorageClass(_) | Global::Dtype(_) => {
                Err(err("storage and dtype classes cannot be called"))
            }
        }
    }

    fn run(&mut self) -> Result<Value, WeightsError> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.u64()?; // FRAME
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.stack.push(Item::Mark),
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))
                }
                0x8a => {
                    // LONG1
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(err("integer wider than 64 bits"));
                    }
                    let mut v: i64 = 0;
                    for (i, byte) in b.iter().enumerate() {
                        v |= (*byte as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Value::Int(v))
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)))
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))
                }
                0x8d => {
                    let n = self.u64()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Value::Bytes(s))
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Value::Bytes(s))
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b']' => self.push(Value::List(Vec::new())),
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items))
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(Vec::new()));
                    self.set_items(items)?;
                }
                0x85 => {
                    let a = self.pop()?;
                    self.push(Value::Tuple(vec![a]))
                }
                0x86 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Value::Tuple(vec![a, b]))
                }
                0x87 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Value::Tuple(vec![a, b, c]))
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    self.memo_put(i)?
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(i)?
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memo_put(i)?
                }
                b'h' => {
                    let i = self.u8()? as u32;
                    let v = self.memo_get(i)?;
                    self.push(v)
                }
                b'j' => {
                    let i = self.u32()?;
                    let v = self.memo_get(i)?;
                    self.push(v)
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(Global::resolve(&module, &name)?))
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.push(Value::Global(Global::resolve(&m, &n)?))
                        }
                        _ => return Err(err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = Self::reduce(func, args)?;
                    self.push(v)
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = Self::persistent_load(pid)?;
                    self.push(v)
                }
                b'b' => {
                    // BUILD: torch stores `_metadata` (module versions) on the state-dict
                    // OrderedDict this way; the state carries no weights, so it is dropped.
                    let _state = self.pop()?;
                    match self.top()? {
                        Value::Dict(_) => {}
                        other => {
                            return Err(err(format!("BUILD on a {}", other.kind())));
                        }
                    }
                }
                // everything else, NEWOBJ / INST / OBJ included, could build arbitrary objects
                other => {
                    return Err(WeightsError::ForbiddenOpcode {
                        opcode: opcode_name(other).to_string(),
                        offset: at,
                    })
                }
            }
        }
    }
}

fn opcode_name(op: u8) -> String {
    let name = match op {
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        b'i' => "INST",
        b'o' => "OBJ",
        b'P' => "PERSID",
        b'I' => "INT",
        b'L' => "LONG",
        b'F' => "FLOAT",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'g' => "GET",
        b'p' => "PUT",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8b => "LONG4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return format!("0x{op:02x}"),
    };
    format!("{name} (0x{op:02x})")
}

/// Unpickles `data` with the allowlist described in the module docs.
pub fn unpickle(data: &[u8]) -> Result<Value, WeightsError> {
    let mut m = Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    m.run()
}
