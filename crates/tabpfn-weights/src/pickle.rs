//! A restricted unpickler for torch checkpoints.
//!
//! It understands the opcodes `torch.save` emits (protocols 2–5) and builds plain values.
//! Globals are resolved against a short allowlist (containers, the tensor-rebuild functions
//! and the storage types); any other global, and every opcode that would instantiate an
//! arbitrary object, is an error that names it. Nothing is ever executed.

use std::collections::HashMap;

use crate::WeightsError;

pub use crate::dtype::Dtype as StorageDtype;

/// The dtype of a torch storage class (`torch.FloatStorage`, …).
fn dtype_of_storage_class(name: &str) -> Option<StorageDtype> {
    Some(match name {
        "FloatStorage" => StorageDtype::F32,
        "DoubleStorage" => StorageDtype::F64,
        "HalfStorage" => StorageDtype::F16,
        "BFloat16Storage" => StorageDtype::Bf16,
        _ => return None,
    })
}

/// The dtype of a `torch.<name>` dtype object (`torch.float32`, …).
fn dtype_of_name(name: &str) -> Option<StorageDtype> {
    Some(match name {
        "float32" | "float" => StorageDtype::F32,
        "float64" | "double" => StorageDtype::F64,
        "float16" | "half" => StorageDtype::F16,
        "bfloat16" => StorageDtype::Bf16,
        _ => return None,
    })
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
            ("torch", n) if dtype_of_storage_class(n).is_some() => {
                Self::StorageClass(dtype_of_storage_class(n).unwrap_or(StorageDtype::F32))
            }
            ("torch", n) if dtype_of_name(n).is_some() => {
                Self::Dtype(dtype_of_name(n).unwrap_or(StorageDtype::F32))
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

/// The deepest nesting of containers a pickle may build: a weights file nests ~5 deep;
/// deeper values would overflow the stack when dropped or converted recursively.
pub const MAX_DEPTH: u32 = 256;

/// What the values a pickle builds may cost in memory, beyond this multiple of the
/// pickle's own size (memo references let a few bytes copy a large value: `memo_get`
/// clones).
pub const COST_PER_INPUT_BYTE: usize = 16;

/// A budget every pickle gets regardless of its size (bytes).
pub const BASE_COST: usize = 64 << 20;

/// Heap bytes charged per value node or stack mark: twice the stack slot (a `Vec` may
/// hold up to twice what it uses), and never under 64.
const NODE_COST: usize = {
    let slot = 2 * std::mem::size_of::<Item>();
    if slot > 64 {
        slot
    } else {
        64
    }
};

/// A stack value with the depth of its deepest container.
enum Item {
    Mark,
    Val(Value, u32),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    memo: HashMap<u32, (Value, u32)>,
    /// Bytes the values built so far may still cost.
    budget: usize,
    /// The input size the budget was set from (the archive's, for a pickle inside one).
    source: usize,
}

/// What `v` costs (nodes × [`NODE_COST`] + string and byte payloads), or `None` beyond
/// `limit`; iterative, so any depth is fine.
fn cost(v: &Value, limit: usize) -> Option<usize> {
    let mut total = 0usize;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        total = total.checked_add(NODE_COST)?;
        match v {
            Value::Str(s) => total = total.checked_add(s.len())?,
            Value::Bytes(b) => total = total.checked_add(b.len())?,
            Value::List(items) | Value::Tuple(items) => todo.extend(items),
            Value::Dict(d) => {
                for (k, x) in d {
                    todo.push(k);
                    todo.push(x);
                }
            }
            Value::Tensor(t) => {
                total = total.checked_add(t.storage.key.len() + 16 * (t.size.len() + 1))?
            }
            Value::Storage(s) => total = total.checked_add(s.key.len())?,
            _ => {}
        }
        if total > limit {
            return None;
        }
    }
    Some(total)
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

    /// Charges `bytes` to the budget.
    fn charge(&mut self, bytes: usize) -> Result<(), WeightsError> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            err(format!(
                "the pickle builds more than {} bytes of values (limit: {BASE_COST} + \
                 {COST_PER_INPUT_BYTE} × the input's {} bytes); refusing a memory bomb",
                BASE_COST.saturating_add(COST_PER_INPUT_BYTE.saturating_mul(self.source)),
                self.source
            ))
        })?;
        Ok(())
    }

    /// Pushes a new leaf value (depth 0).
    fn push(&mut self, v: Value) -> Result<(), WeightsError> {
        self.push_at(v, 0)
    }

    /// Pushes a value whose deepest container is `depth` levels down.
    fn push_at(&mut self, v: Value, depth: u32) -> Result<(), WeightsError> {
        if depth > MAX_DEPTH {
            return Err(err(format!(
                "values nested deeper than {MAX_DEPTH} levels; a weights file never needs that"
            )));
        }
        let extra = match &v {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        };
        self.charge(NODE_COST + extra)?;
        self.stack.push(Item::Val(v, depth));
        Ok(())
    }

    fn pop_item(&mut self) -> Result<(Value, u32), WeightsError> {
        match self.stack.pop() {
            Some(Item::Val(v, d)) => Ok((v, d)),
            Some(Item::Mark) => Err(err("unexpected MARK on the pickle stack")),
            None => Err(err("pickle stack underflow")),
        }
    }

    fn pop(&mut self) -> Result<Value, WeightsError> {
        Ok(self.pop_item()?.0)
    }

    fn top(&mut self) -> Result<(&mut Value, &mut u32), WeightsError> {
        match self.stack.last_mut() {
            Some(Item::Val(v, d)) => Ok((v, d)),
            _ => Err(err("pickle stack underflow")),
        }
    }

    /// The items above the topmost MARK and the depth of the deepest.
    fn pop_mark(&mut self) -> Result<(Vec<Value>, u32), WeightsError> {
        let mut items = Vec::new();
        let mut depth = 0;
        loop {
            match self.stack.pop() {
                Some(Item::Mark) => break,
                Some(Item::Val(v, d)) => {
                    items.push(v);
                    depth = depth.max(d);
                }
                None => return Err(err("MARK not found on the pickle stack")),
            }
        }
        items.reverse();
        Ok((items, depth))
    }

    fn memo_get(&mut self, i: u32) -> Result<(), WeightsError> {
        let (v, d) = self
            .memo
            .get(&i)
            .ok_or_else(|| err(format!("memo key {i} not found")))?;
        // the copy costs what the value costs: charged before it is made
        let c = cost(v, self.budget).ok_or_else(|| {
            err(format!(
                "memo key {i} refers to a value larger than the remaining budget of {} bytes; \
                 refusing a memory bomb",
                self.budget
            ))
        })?;
        let (v, d) = (v.clone(), *d);
        self.charge(c)?;
        self.stack.push(Item::Val(v, d));
        Ok(())
    }

    fn memo_put(&mut self, i: u32) -> Result<(), WeightsError> {
        let (v, d) = match self.stack.last() {
            Some(Item::Val(v, d)) => (v, *d),
            _ => return Err(err("nothing to memoize")),
        };
        let c = cost(v, self.budget).ok_or_else(|| {
            err(format!(
                "a memoized value exceeds the remaining budget of {} bytes; refusing a memory bomb",
                self.budget
            ))
        })?;
        let v = v.clone();
        self.charge(c)?;
        self.memo.insert(i, (v, d));
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>, depth: u32) -> Result<(), WeightsError> {
        if !items.len().is_multiple_of(2) {
            return Err(err("SETITEMS with an odd number of items"));
        }
        let (target, target_depth) = self.top()?;
        let Value::Dict(d) = target else {
            return Err(err(format!("SETITEM(S) on a {}", target.kind())));
        };
        if !items.is_empty() {
            *target_depth = (*target_depth).max(depth + 1);
            if *target_depth > MAX_DEPTH {
                return Err(err(format!(
                    "values nested deeper than {MAX_DEPTH} levels; a weights file never needs that"
                )));
            }
        }
        // duplicate keys are resolved once, at the end (`dedupe_dicts`): linear time
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>, depth: u32) -> Result<(), WeightsError> {
        match self.top()? {
            (Value::List(l), target_depth) => {
                if !items.is_empty() {
                    *target_depth = (*target_depth).max(depth + 1);
                    if *target_depth > MAX_DEPTH {
                        return Err(err(format!(
                            "values nested deeper than {MAX_DEPTH} levels; a weights file never \
                             needs that"
                        )));
                    }
                }
                l.extend(items);
                Ok(())
            }
            (other, _) => Err(err(format!("APPEND(S) on a {}", other.kind()))),
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
                b'.' => {
                    // STOP
                    let mut v = self.pop()?;
                    dedupe_dicts(&mut v);
                    return Ok(v);
                }
                b'(' => {
                    // a mark costs a stack slot like any value: a run of `(` is no free ride
                    self.charge(NODE_COST)?;
                    self.stack.push(Item::Mark)
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))?
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
                    self.push(Value::Int(v))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)))?
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))?
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))?
                }
                0x8d => {
                    let n = self.u64()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))?
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))?
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?;
                    self.push(Value::Str(String::from_utf8_lossy(s).into_owned()))?
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Value::Bytes(s))?
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Value::Bytes(s))?
                }
                b'}' => self.push(Value::Dict(Vec::new()))?,
                b']' => self.push(Value::List(Vec::new()))?,
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b't' => {
                    let (items, d) = self.pop_mark()?;
                    self.push_at(Value::Tuple(items), d + 1)?
                }
                b'l' => {
                    let (items, d) = self.pop_mark()?;
                    self.push_at(Value::List(items), d + 1)?
                }
                b'd' => {
                    let (items, d) = self.pop_mark()?;
                    self.push(Value::Dict(Vec::new()))?;
                    self.set_items(items, d)?;
                }
                0x85 => {
                    let (a, d) = self.pop_item()?;
                    self.push_at(Value::Tuple(vec![a]), d + 1)?
                }
                0x86 => {
                    let (b, db) = self.pop_item()?;
                    let (a, da) = self.pop_item()?;
                    self.push_at(Value::Tuple(vec![a, b]), da.max(db) + 1)?
                }
                0x87 => {
                    let (c, dc) = self.pop_item()?;
                    let (b, db) = self.pop_item()?;
                    let (a, da) = self.pop_item()?;
                    self.push_at(Value::Tuple(vec![a, b, c]), da.max(db).max(dc) + 1)?
                }
                b's' => {
                    let (v, dv) = self.pop_item()?;
                    let (k, dk) = self.pop_item()?;
                    self.set_items(vec![k, v], dk.max(dv))?;
                }
                b'u' => {
                    let (items, d) = self.pop_mark()?;
                    self.set_items(items, d)?;
                }
                b'a' => {
                    let (v, d) = self.pop_item()?;
                    self.append(vec![v], d)?;
                }
                b'e' => {
                    let (items, d) = self.pop_mark()?;
                    self.append(items, d)?;
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
                    self.memo_get(i)?
                }
                b'j' => {
                    let i = self.u32()?;
                    self.memo_get(i)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(Global::resolve(&module, &name)?))?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.push(Value::Global(Global::resolve(&m, &n)?))?
                        }
                        _ => return Err(err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let (args, d) = self.pop_item()?;
                    let func = self.pop()?;
                    let v = Self::reduce(func, args)?;
                    self.push_at(v, d)?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = Self::persistent_load(pid)?;
                    self.push(v)?
                }
                b'b' => {
                    // BUILD: torch stores `_metadata` (module versions) on the state-dict
                    // OrderedDict this way; the state carries no weights, so it is dropped.
                    let _state = self.pop()?;
                    match self.top()?.0 {
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

/// Unpickles `data` with the allowlist described in the module docs, within the budget of
/// [`BASE_COST`] + [`COST_PER_INPUT_BYTE`] × its size.
pub fn unpickle(data: &[u8]) -> Result<Value, WeightsError> {
    unpickle_within(data, data.len())
}

/// [`unpickle`] with the budget of a `source_bytes`-byte input: a pickle inflated from a
/// smaller archive gets the archive's budget, so the two allowances do not multiply.
pub fn unpickle_within(data: &[u8], source_bytes: usize) -> Result<Value, WeightsError> {
    let mut m = Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        budget: BASE_COST.saturating_add(COST_PER_INPUT_BYTE.saturating_mul(source_bytes)),
        source: source_bytes,
    };
    m.run()
}

/// Python dict semantics for keys set twice: the last value wins, at the first key's
/// position. Runs once over the finished value, iteratively, in linear time.
fn dedupe_dicts(root: &mut Value) {
    let mut todo = vec![root];
    while let Some(v) = todo.pop() {
        match v {
            Value::Dict(d) => {
                let mut first: HashMap<String, usize> = HashMap::new();
                let mut keep = vec![true; d.len()];
                for i in 0..d.len() {
                    let key = match &d[i].0 {
                        Value::Str(s) => format!("s{s}"),
                        Value::Int(n) => format!("i{n}"),
                        _ => continue,
                    };
                    if let Some(&j) = first.get(&key) {
                        let v = std::mem::replace(&mut d[i].1, Value::None);
                        d[j].1 = v;
                        keep[i] = false;
                    } else {
                        first.insert(key, i);
                    }
                }
                let mut k = keep.into_iter();
                d.retain(|_| k.next().unwrap_or(true));
                for (_, x) in d.iter_mut() {
                    todo.push(x);
                }
            }
            Value::List(items) | Value::Tuple(items) => todo.extend(items.iter_mut()),
            _ => {}
        }
    }
}
