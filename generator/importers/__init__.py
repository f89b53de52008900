"""`obsgen import`: foreign SLO specs (Sloth, OpenSLO) → native spec files.

source.py reads them (ruamel.yaml: lines and comments), sloth.py and the openslo/ package
convert them into `document.OutFile`s, catalog.py declares the series their queries read, and
run.py checks the result with the model and hands it to the writer.
"""
