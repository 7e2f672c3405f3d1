"""A folder given where a model file is expected is named as a folder.

``gvcdyn run models`` said "model file not found: models", though the folder is there;
now it says that it is a folder and names the .mdl files in it.
"""

from __future__ import annotations

from console import assert_one_line_error, gvcdyn


def test_a_folder_is_refused_naming_its_models(tmp_path) -> None:
    folder = tmp_path / "my_models"
    folder.mkdir()
    (folder / "b.mdl").write_text("{UTF-8}\n", encoding="utf-8")
    (folder / "a.mdl").write_text("{UTF-8}\n", encoding="utf-8")
    done = gvcdyn("run", folder, cwd=tmp_path)
    line = assert_one_line_error(done, str(folder), "is a folder", stdout_empty=True)
    assert "not found" not in line and "a.mdl, b.mdl" in line, line
