"""Public Earth-observation benchmarks, one command away: registry, download, extract, prepare.

* :mod:`~eoforge.datasets.entry`: :class:`DatasetEntry`, one declarative entry per dataset.
* :mod:`~eoforge.datasets.registry`: the entries; :func:`get`, :func:`entries`, :func:`register`.
* :mod:`~eoforge.datasets.download`: resumable, retried, checksum-verified downloads.
* :mod:`~eoforge.datasets.extract`: safe zip/tar extraction (all or nothing).
* :mod:`~eoforge.datasets.prepare`: layout parsers writing each official split in the
  folder layout of an eoforge chip dataset, with a split manifest and class counts.

The command line is ``eoforge datasets list | info | download | verify | prepare``.
"""

from eoforge.datasets.download import Fetched, data_root, dataset_dir, download, fetch, verify
from eoforge.datasets.entry import DatasetEntry, RemoteFile
from eoforge.datasets.extract import safe_extract
from eoforge.datasets.registry import entries, get, register, unregister

__all__ = [
    "DatasetEntry",
    "Fetched",
    "RemoteFile",
    "data_root",
    "dataset_dir",
    "download",
    "entries",
    "fetch",
    "get",
    "register",
    "safe_extract",
    "unregister",
    "verify",
]
