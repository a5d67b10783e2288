//! `tabpfn_rs._core`: the Python extension of tabpfn-rs, a thin typed layer over
//! `tabpfn-model`'s estimators. The scikit-learn API (argument handling, pandas and numpy
//! inputs, label encoding, pickling) lives in `python/tabpfn_rs`; this module converts
//! columns and options, runs fit and predict with the GIL released, and maps every Rust
//! error to a Python exception carrying its message (`ValueError` for data, shapes, limits
//! and models; `TypeError` for wrongly typed arguments). A Rust panic surfaces as PyO3's
//! `PanicException`, never an abort.

mod columns;
mod config;

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use tabpfn_model::{
    builtin, ClassLabel, DataFrame, FitMode, FittedClassifier, FittedEstimator, FittedManyClass,
    PerFeatureTransformer, Probabilities, TabPFNClassifier, TabPFNRegressor, Target, Task,
};

pub(crate) fn value_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A loaded network: an official checkpoint, a converted safetensors file, or a built-in
/// model.
#[pyclass(module = "tabpfn_rs._core", frozen, name = "Model")]
struct Model {
    inner: Arc<PerFeatureTransformer>,
    name: String,
}

#[pymethods]
impl Model {
    /// Loads `path` (`.ckpt` or `.safetensors`) onto `device`, or the built-in model for
    /// `task` ("classification" | "regression") when `path` is None.
    #[staticmethod]
    #[pyo3(signature = (path=None, task=None, device="cpu"))]
    fn load(
        py: Python<'_>,
        path: Option<PathBuf>,
        task: Option<&str>,
        device: &str,
    ) -> PyResult<Self> {
        let device = tabpfn_model::device::by_name(device).map_err(value_err)?;
        let task = match task {
            None => None,
            Some("classification") => Some(Task::Classification),
            Some("regression") => Some(Task::Regression),
            Some(other) => {
                return Err(value_err(format!(
                    "task must be \"classification\" or \"regression\", got {other:?}"
                )))
            }
        };
        py.detach(|| match path {
            Some(p) => {
                let m = PerFeatureTransformer::load(&p, &device)
                    .map_err(|e| value_err(format!("cannot load model {}: {e}", p.display())))?;
                if let Some(t) = task.filter(|&t| t != m.task()) {
                    return Err(value_err(format!(
                        "{} is a {} checkpoint; this estimator needs a {} model",
                        p.display(),
                        m.task().name(),
                        t.name()
                    )));
                }
                Ok(Self {
                    inner: Arc::new(m),
                    name: p.display().to_string(),
                })
            }
            None => {
                let t = task.ok_or_else(|| value_err("give a path or a task"))?;
                let m = builtin::model(t, &device)
                    .ok_or_else(|| {
                        value_err(format!(
                            "this build has no built-in {} model; pass model_path",
                            t.name()
                        ))
                    })?
                    .map_err(value_err)?;
                let name = builtin::name(t);
                Ok(Self {
                    inner: Arc::new(m),
                    name: name.to_string(),
                })
            }
        })
    }

    /// "classification" or "regression".
    #[getter]
    fn task(&self) -> &'static str {
        self.inner.task().name()
    }

    /// Where the model came from.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Outputs per row: the most classes (classifier) or bars (regressor).
    #[getter]
    fn n_out(&self) -> usize {
        self.inner.config().n_out()
    }

    fn __repr__(&self) -> String {
        format!("Model({}, {})", self.name, self.task())
    }
}

/// A fitted estimator (classifier or regressor) of the Rust core.
#[pyclass(module = "tabpfn_rs._core", frozen, name = "Fit")]
struct Fit {
    inner: FittedEstimator,
}

fn labels_to_py<'py>(py: Python<'py>, classes: &[ClassLabel]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for c in classes {
        match c {
            ClassLabel::Numeric(v) => list.append(*v)?,
            ClassLabel::Text(s) => list.append(s)?,
        }
    }
    Ok(list)
}

/// A many-class fit's `[rows, classes]` output.
type ManyClassRun = fn(&FittedManyClass, &DataFrame) -> tabpfn_model::Result<Probabilities>;

impl Fit {
    /// A `[rows, classes]` output of the fitted classifier for the rows in `columns`, run
    /// with the GIL released: `run` for a plain fit, `run_many` for a many-class fit where
    /// the output is defined (`what` names the method in the errors).
    fn class_matrix<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyList>,
        what: &str,
        run: impl Fn(&FittedClassifier, &DataFrame) -> tabpfn_model::Result<Probabilities> + Sync,
        run_many: Option<ManyClassRun>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = columns::frame(columns)?;
        let p = match (&self.inner, run_many) {
            (FittedEstimator::Classifier(f), _) => py.detach(|| run(f, &x)),
            (FittedEstimator::ManyClass(f), Some(run_many)) => py.detach(|| run_many(f, &x)),
            (FittedEstimator::ManyClass(_), None) => {
                return Err(value_err(format!(
                    "{what} is not defined for a fit of more classes than the model's \
                     outputs (the many-class output code decodes probabilities only)"
                )))
            }
            (FittedEstimator::Regressor(_), _) => {
                return Err(value_err(format!("{what} needs a fitted classifier")))
            }
        }
        .map_err(value_err)?;
        let a = numpy::ndarray::Array2::from_shape_vec((p.rows, p.classes), p.data)
            .map_err(value_err)?;
        Ok(a.into_pyarray(py))
    }
}

#[pymethods]
impl Fit {
    /// Class probabilities `[rows, classes]` (float32) of the rows in `columns`.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.class_matrix(
            py,
            columns,
            "predict_proba",
            FittedClassifier::predict_proba,
            Some(FittedManyClass::predict_proba),
        )
    }

    /// Mean member logits after temperature `[rows, classes]` (`predict_logits`).
    fn predict_logits<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.class_matrix(
            py,
            columns,
            "predict_logits",
            FittedClassifier::predict_logits,
            None,
        )
    }

    /// Every regression output: a dict of `mean`, `median`, `mode` `[rows]`, `quantiles`
    /// `[len(quantiles), rows]`, `logits` `[rows, bars]` and `borders` `[bars + 1]`.
    fn predict_regression<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyList>,
        quantiles: Vec<f32>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let FittedEstimator::Regressor(f) = &self.inner else {
            return Err(value_err("predict_regression needs a fitted regressor"));
        };
        let x = columns::frame(columns)?;
        let rows = x.rows();
        let out = py
            .detach(|| f.predict_full(&x, &quantiles))
            .map_err(value_err)?;
        let d = PyDict::new(py);
        d.set_item("mean", out.mean.into_pyarray(py))?;
        d.set_item("median", out.median.into_pyarray(py))?;
        d.set_item("mode", out.mode.into_pyarray(py))?;
        let q: Vec<f32> = out.quantiles.concat();
        let q = numpy::ndarray::Array2::from_shape_vec((quantiles.len(), rows), q)
            .map_err(value_err)?;
        d.set_item("quantiles", q.into_pyarray(py))?;
        let k = out.borders.len().saturating_sub(1);
        let logits =
            numpy::ndarray::Array2::from_shape_vec((if k == 0 { 0 } else { rows }, k), out.logits)
                .map_err(value_err)?;
        d.set_item("logits", logits.into_pyarray(py))?;
        d.set_item("borders", out.borders.into_pyarray(py))?;
        Ok(d)
    }

    /// Writes the fit in the saved-fit format of `tabpfn-cli --save-fit` (atomically).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(value_err)
    }

    /// The saved-fit file as bytes (what `save` writes).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.inner.to_bytes()).map_err(value_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Loads a saved fit (from `save` or `tabpfn-cli --save-fit`) for `model`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf, model: &Model) -> PyResult<Self> {
        let m = model.inner.clone();
        let inner = py
            .detach(|| FittedEstimator::load(&path, m))
            .map_err(value_err)?;
        Ok(Self { inner })
    }

    /// Loads saved-fit bytes (from `to_bytes`) for `model`.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8], model: &Model) -> PyResult<Self> {
        let m = model.inner.clone();
        let inner = py
            .detach(|| FittedEstimator::from_bytes(data, m))
            .map_err(value_err)?;
        Ok(Self { inner })
    }

    /// "classification" or "regression".
    #[getter]
    fn task(&self) -> &'static str {
        match self.inner {
            FittedEstimator::Classifier(_) | FittedEstimator::ManyClass(_) => "classification",
            FittedEstimator::Regressor(_) => "regression",
        }
    }

    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.ensemble().feature_names().to_vec()
    }

    /// Whether each feature column was text at fit (else numeric).
    #[getter]
    fn feature_is_text(&self) -> Vec<bool> {
        self.inner.ensemble().feature_is_text().to_vec()
    }

    /// The fit mode this fit was made with (`fit_preprocessors`, `fit_with_cache`,
    /// `low_memory`), whatever the estimator object's parameters say.
    #[getter]
    fn fit_mode(&self) -> &'static str {
        match self.inner.ensemble().config().fit_mode {
            FitMode::FitPreprocessors => "fit_preprocessors",
            FitMode::FitWithCache => "fit_with_cache",
            FitMode::LowMemory => "low_memory",
        }
    }

    /// Whether every test row's output depends on that row and the fit alone, bit for bit
    /// (a `fit_with_cache` fit, or one made with train-only network statistics).
    #[getter]
    fn row_independent(&self) -> bool {
        let c = self.inner.ensemble().config();
        c.fit_mode == FitMode::FitWithCache || c.row_independent
    }

    #[getter]
    fn n_train(&self) -> usize {
        self.inner.ensemble().n_train()
    }

    #[getter]
    fn target_name(&self) -> Option<String> {
        self.inner.ensemble().target_name().map(str::to_string)
    }

    /// The classifier's class labels in probability-column order (numbers or strings).
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match &self.inner {
            FittedEstimator::Classifier(f) => labels_to_py(py, f.classes()),
            FittedEstimator::ManyClass(f) => labels_to_py(py, f.classes()),
            FittedEstimator::Regressor(_) => Err(value_err("a regressor has no classes")),
        }
    }
}

/// Fits an estimator of `model`'s task on `columns` (see `columns.rs`) and `y`: a float64
/// array (regression targets, or numeric class labels) or a list of str (text class
/// labels). `config` holds the estimator knobs by their reference names; unknown keys are
/// errors.
#[pyfunction]
#[pyo3(signature = (model, columns, y, config, target_name=None))]
fn fit(
    py: Python<'_>,
    model: &Model,
    columns: &Bound<'_, PyList>,
    y: &Bound<'_, PyAny>,
    config: &Bound<'_, PyDict>,
    target_name: Option<String>,
) -> PyResult<Fit> {
    let x = columns::frame(columns)?;
    let y = if let Ok(a) = y.extract::<PyReadonlyArray1<'_, f64>>() {
        Target::Numeric(match a.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => a.as_array().to_vec(),
        })
    } else if let Ok(v) = y.extract::<Vec<String>>() {
        Target::Text(v)
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "y must be a float64 array or a list of str",
        ));
    };
    let m = model.inner.clone();
    let cfg = config::estimator_config(config, m.task())?;
    let mut inner = py
        .detach(|| -> tabpfn_model::Result<FittedEstimator> {
            Ok(match m.task() {
                // above the model's classes: the many-class output code (the estimator
                // warns), with the extension's defaults
                Task::Classification => TabPFNClassifier::new(m, cfg)?.fit_estimator(
                    &x,
                    &y,
                    &tabpfn_model::ManyClassConfig::default(),
                )?,
                Task::Regression => {
                    FittedEstimator::Regressor(TabPFNRegressor::new(m, cfg)?.fit(&x, &y)?)
                }
            })
        })
        .map_err(value_err)?;
    if let Some(t) = target_name {
        inner.set_target_name(t);
    }
    Ok(Fit { inner })
}

/// The notice printed when an estimator falls back to a built-in model.
#[pyfunction]
fn builtin_notice() -> &'static str {
    builtin::NOTICE
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Fit>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_notice, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
