"""One declarative entry per public dataset: what it is, where its files are, how to read them.

An entry is data, not code: :class:`DatasetEntry` names the dataset, its task
and sensor bands (canonical eoforge names), licence and citation, the published
files (:class:`RemoteFile`: URL, size, checksum, whether to extract), the layout
parser that :mod:`eoforge.datasets.prepare` runs on the extracted files, the
official splits and the classes (:class:`eoforge.classes.ClassInfo`).

Checksums are the ones the dataset's publishers (or the mirror the URL points
at) give for the file; an entry never carries a guessed one. Where none is
known, the first download records the file's SHA-256 and later ``verify`` runs
compare against that record (see :mod:`eoforge.datasets.download`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eoforge.classes import ClassInfo

Task = Literal[
    "scene_classification",
    "multi_label",
    "segmentation",
    "change",
    "detection",
    "oriented_detection",
    "super_resolution",
    "image_text",
    "regression",
    "self_supervised",
    "multi_modal",
]
"""What a dataset's labels are for."""

Family = Literal[
    "classification", "multilabel", "segmentation", "change", "regression", "detection"
]
"""The eoforge task family (``task.kind`` of an experiment config) that trains a dataset."""

DataKind = Literal[
    "class_folder", "image_mask", "change_triplet", "group_chips", "bigearthnet", "objects", "geo"
]
"""The experiment config's ``data.kind`` that reads a prepared dataset."""


ARCHIVE_SUFFIXES = (
    ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar", ".zip",
)  # fmt: skip
"""File name endings :mod:`eoforge.datasets.extract` unpacks."""


class RemoteFile(BaseModel):
    """One published file of a dataset.

    Attributes:
        url: HTTP(S) address of the file.
        filename: Name the file takes under ``<root>/<dataset>/``.
        size: Exact size in bytes when published, else None (not checked).
        md5: Published MD5 (32 hex digits), if any.
        sha256: Published SHA-256 (64 hex digits), if any; preferred over ``md5``.
        checksum_source: Where the checksum comes from, or why there is none.
        extract: Unpack the file (zip or tar) after download.
        splits: The splits that need the file; empty when every split does.
        approx_size: Rough size in bytes for listings when ``size`` is unknown.
        manual: Non-empty when the file cannot be fetched without an account
            (a login, a licence form, a requester-pays bucket): how to get it by
            hand. ``download`` then asks for the file at its place instead of
            fetching ``url`` (the page where it is offered).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://")
    filename: str = Field(min_length=1, pattern=r"^[^/\\]+$")
    size: int | None = Field(default=None, ge=0)
    md5: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    checksum_source: str = ""
    extract: bool = False
    splits: tuple[str, ...] = ()
    approx_size: int | None = Field(default=None, ge=0)
    manual: str = ""

    @property
    def checksum(self) -> tuple[str, str] | None:
        """``("sha256", hex)`` or ``("md5", hex)`` as published; None when none is."""
        if self.sha256:
            return "sha256", self.sha256
        if self.md5:
            return "md5", self.md5
        return None

    @property
    def stem(self) -> str:
        """The file name without its archive suffix (the extraction folder's name)."""
        for suffix in ARCHIVE_SUFFIXES:
            if self.filename.lower().endswith(suffix):
                return self.filename[: -len(suffix)]
        return self.filename

    @property
    def display_size(self) -> int | None:
        """Exact size if known, else the approximate one, else None (bytes)."""
        return self.size if self.size is not None else self.approx_size


class DatasetEntry(BaseModel):
    """A public dataset eoforge can download, verify and prepare.

    Attributes:
        name: Registry key, lower case (``eurosat-rgb``).
        title: Human name.
        task: What the labels are for.
        family: The eoforge task family that trains it (``task.kind`` of a
            config), or None when no family exists yet.
        data_kind: The ``data.kind`` that reads the prepared folders, or None.
        trainable: Whether eoforge trains it today.
        later: For datasets not trainable today: what is missing (the issue).
        bands: Canonical eoforge band names of the images, in file order.
        gsd: Ground sampling distance of the images in metres; None when the
            publishers give none (e.g. Google Earth images of mixed scales).
        licence: Licence of the data.
        citation: How to cite the dataset.
        homepage: The dataset's page.
        files: The published files.
        layout: The parser (:data:`eoforge.datasets.layouts.PARSERS`) for the extracted
            files; the registry refuses unknown ones.
        splits: Official split names, in order.
        split_source: Where the official splits come from.
        classes: The classes; ids are label indices (classification) or mask values.
        mask_colours: The masks are colour-coded, each class painted in its
            ``color`` (ISPRS); the prepared ``data`` section then maps colours to
            classes (``data.classes[].mask_color``).
        notes: Anything a user should know (what ``prepare`` changes, caveats).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str
    task: Task
    family: Family | None
    data_kind: DataKind | None
    trainable: bool
    later: str = ""
    bands: tuple[str, ...] = Field(min_length=1)
    gsd: float | None = Field(gt=0)
    licence: str
    citation: str
    homepage: str
    files: tuple[RemoteFile, ...] = Field(min_length=1)
    layout: str = Field(pattern=r"^[a-z0-9_]+$")
    splits: tuple[str, ...] = Field(min_length=1)
    split_source: str = ""
    classes: tuple[ClassInfo, ...] = ()
    mask_colours: bool = False
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> DatasetEntry:
        if self.trainable and (self.family is None or self.data_kind is None):
            raise ValueError("a trainable entry needs a family and a data_kind")
        if not self.trainable and not self.later:
            raise ValueError("an entry not trainable today must say what is missing (later)")
        names = [f.filename for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"file names repeat: {names}")
        for file in self.files:
            unknown = set(file.splits) - set(self.splits)
            if unknown:
                raise ValueError(f"{file.filename}: unknown splits {sorted(unknown)}")
        return self

    def files_for(self, split: str | None = None) -> tuple[RemoteFile, ...]:
        """The files needed for ``split`` (every file when None)."""
        if split is None:
            return self.files
        return tuple(f for f in self.files if not f.splits or split in f.splits)

    @property
    def size(self) -> tuple[int, bool]:
        """``(bytes, complete)``: total size of files with a known size; whether all have one."""
        sizes = [f.display_size for f in self.files]
        return sum(s for s in sizes if s is not None), all(s is not None for s in sizes)

    @property
    def trained_by_short(self) -> str:
        """``"yes (segmentation)"`` or ``"later: <issue>"``, for one-line listings.

        ``<issue>`` is the text of ``later`` before its first colon.
        """
        if self.trainable:
            return self.trained_by
        return f"later: {self.later.split(':', 1)[0].strip()}"

    @property
    def trained_by(self) -> str:
        """``"yes (segmentation)"`` or what is missing, for listings."""
        if self.trainable:
            return f"yes ({self.family})"
        return f"later: {self.later}"
