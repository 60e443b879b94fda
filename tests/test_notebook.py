"""The quickstart notebook runs headless, start to finish, and shows what it says."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient
from PIL import Image

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
PHI = ("林美華", "A123456", "SN-0042", "DentalCam")


def test_quickstart_notebook_runs_and_shows_every_stage() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # Committed without outputs: what a reader sees on opening is what this run makes.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    client = NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})  # fmt: skip
    client.execute()  # raises CellExecutionError on any failing cell

    texts: list[str] = []
    images: list[Image.Image] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            data = out.get("data", {})
            if "image/png" in data:
                images.append(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))))
            if "text/plain" in data and "image/png" not in data:
                texts.append(data["text/plain"])
    text = "\n".join(texts)
    # Input, faces + oral region, text boxes, input|output, composite.
    assert len(images) == 5
    assert "redacted - Removed metadata" in text
    assert "obscured_except_oral eyes obscured: True" in text
    assert "metadata left in the output: []" in text
    assert "Composite of two de-identified photos" in text
    assert '"status": "granted"' in text and '"status": "consent_scope"' in text
    # The output shown is not the input: the head is filled grey around the mouth.
    pair = np.asarray(images[3].convert("RGB")).astype(int)
    half = (pair.shape[1] - 8) // 2
    assert np.abs(pair[:, :half] - pair[:, -half:]).mean() > 10
    # Nothing the notebook prints leaks what it removed (the input picture shows it).
    for value in PHI:
        assert value not in text
