"""obsgen's compiler: typed specs in `spec/` → every artifact in `generated/`.

Data flows one way: `loader` (files → documents with line maps) → `model` (pydantic, typed)
→ `validate` (cross-references) → one pure compiler per target (`rules`, `promtool_tests`,
`prometheus_config`, `schema`) → `writer` (the only module that touches disk).
"""

__version__ = "0.1.0"
