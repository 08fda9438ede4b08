"""Data shipped with HMS: the ICD-10 list (icd10.csv) and the standard laboratory catalogue."""
