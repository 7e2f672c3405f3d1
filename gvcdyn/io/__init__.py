"""Files in and out: netCDF results, CSV and Vensim ``.tab`` tables, reference outputs,
TOML, plots, and the one atomic writer every result goes through.
"""
