//! Columns from Python: the package's Python layer types each column the way the reference
//! does (numbers → float64 with NaN for missing, text → `str | None`) and hands over a list
//! of `(name, "numeric", float64 array)` or `(name, "text", list)` tuples. The one copy made
//! here is the one the column-major layout needs.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tabpfn_model::{Column, DataFrame};

use crate::value_err;

/// The table described by `columns`.
pub(crate) fn frame(columns: &Bound<'_, PyList>) -> PyResult<DataFrame> {
    let mut out = Vec::with_capacity(columns.len());
    for (j, item) in columns.iter().enumerate() {
        let t = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!("column {j}: expected a (name, kind, values) tuple"))
        })?;
        if t.len() != 3 {
            return Err(PyTypeError::new_err(format!(
                "column {j}: expected a (name, kind, values) tuple, got {} items",
                t.len()
            )));
        }
        let name: String = t.get_item(0)?.extract()?;
        let kind: String = t.get_item(1)?.extract()?;
        let values = t.get_item(2)?;
        let col = match kind.as_str() {
            "numeric" => {
                let a: PyReadonlyArray1<'_, f64> = values.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "column `{name}`: numeric values must be a 1-d float64 array"
                    ))
                })?;
                // numpy arrays may be unaligned (a buffer received over the network); an
                // ndarray view of one would panic, so such a column is refused by name
                // (the Python layer always hands over aligned copies)
                if !is_aligned(&a) {
                    return Err(value_err(format!(
                        "column `{name}`: the float64 buffer is not 8-byte aligned; pass \
                         np.require(values, np.float64, ['C', 'A'])"
                    )));
                }
                let v = match a.as_slice() {
                    Ok(s) => s.to_vec(),
                    Err(_) => a.as_array().to_vec(),
                };
                Column::numeric(name, v)
            }
            "text" => {
                let v: Vec<Option<String>> = values.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "column `{name}`: text values must be a list of str or None"
                    ))
                })?;
                Column::text(name, v)
            }
            other => {
                return Err(value_err(format!(
                    "column `{name}`: kind must be \"numeric\" or \"text\", got {other:?}"
                )))
            }
        };
        out.push(col);
    }
    DataFrame::new(out).map_err(value_err)
}

/// Whether the array's data pointer is aligned for f64 (NumPy's ALIGNED flag).
fn is_aligned(a: &PyReadonlyArray1<'_, f64>) -> bool {
    use numpy::PyArrayMethods;
    (a.data() as usize).is_multiple_of(std::mem::align_of::<f64>())
}
