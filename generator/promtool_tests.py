def compile_promtool_tests(spec): return {}
