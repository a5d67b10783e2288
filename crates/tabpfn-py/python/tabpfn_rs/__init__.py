"""tabpfn-rs for Python: TabPFN v2 (tabpfn 2.2.1's estimators) on a Rust core, without
torch.

    from tabpfn_rs import TabPFNClassifier
    clf = TabPFNClassifier().fit(X_train, y_train)      # built-in demo model
    proba = clf.predict_proba(X_test)

Pass ``model_path=`` an official TabPFN v2 checkpoint (``.ckpt``) or its converted
``.safetensors`` for real predictions. Fitted estimators pickle (joblib, Dask, Spark, Ray)
and ``save`` / ``load`` the saved-fit format of ``tabpfn-cli``; ``tabpfn_rs.distributed``
predicts Dask and Spark DataFrames from one fit.
"""

from . import _core, distributed
from ._estimators import BarDistribution, TabPFNClassifier, TabPFNRegressor

__version__ = _core.__version__
__all__ = ["TabPFNClassifier", "TabPFNRegressor", "BarDistribution", "__version__"]
