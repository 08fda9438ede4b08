"""The standard laboratory catalogue: common tests with their LOINC codes, adult reference ranges,
critical and physical limits, and panels. `hms.services.lab.install_catalogue` copies it into a
hospital's own catalogue (which its administrator may then change).

Ranges are for adults (18 years and over; a child's value is not flagged H/L until the hospital adds
its own bands) in the unit of the LOINC code. Prices are in Kenyan shilling cents (minor units) and are
used only for a hospital that bills in KES; elsewhere the administrator sets them. The text test has
no LOINC code of its own here."""

from __future__ import annotations

from dataclasses import dataclass

PRICE_CURRENCY = "KES"
ADULT_DAYS = 6575  # 18 years

# (sex or None for anyone, low, high); the age band is ADULT_DAYS and up.
Range = tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class TestEntry:
    code: str
    name: str
    loinc: str | None
    specimen: str
    kind: str  # numeric | choice | text
    unit: str | None = None
    decimals: int = 0
    ranges: tuple[Range, ...] = ()
    critical: tuple[str | None, str | None] = (None, None)
    physical: tuple[str | None, str | None] = (None, None)
    choices: tuple[str, ...] = ()
    turnaround_minutes: int = 60
    price_minor: int = 0


@dataclass(frozen=True)
class PanelEntry:
    code: str
    name: str
    loinc: str | None
    tests: tuple[str, ...]
    price_minor: int = 0


POS_NEG = ("negative", "positive")
RDT = ("negative", "positive", "invalid")
DIPSTICK = ("negative", "trace", "1+", "2+", "3+")

TESTS: tuple[TestEntry, ...] = (
    # haematology
    TestEntry("HB", "Haemoglobin", "718-7", "blood", "numeric", "g/dL", 1,
              (("female", "12.0", "15.5"), ("male", "13.5", "17.5")), ("7.0", "20.0"), ("1.0", "25.0"),
              price_minor=30000),
    TestEntry("HCT", "Haematocrit", "4544-3", "blood", "numeric", "%", 1,
              (("female", "36.0", "46.0"), ("male", "41.0", "53.0")), ("20.0", "60.0"), ("5.0", "90.0"),
              price_minor=20000),
    TestEntry("WBC", "White blood cells", "6690-2", "blood", "numeric", "10^9/L", 1,
              ((None, "4.0", "11.0"),), ("2.0", "30.0"), ("0.0", "500.0"), price_minor=30000),
    TestEntry("PLT", "Platelets", "777-3", "blood", "numeric", "10^9/L", 0,
              ((None, "150", "400"),), ("50", "1000"), ("0", "5000"), price_minor=30000),
    TestEntry("MCV", "Mean corpuscular volume", "787-2", "blood", "numeric", "fL", 0,
              ((None, "80", "100"),), (None, None), ("40", "160"), price_minor=20000),
    TestEntry("ESR", "Erythrocyte sedimentation rate", "4537-7", "blood", "numeric", "mm/h", 0,
              (("female", "0", "20"), ("male", "0", "15")), (None, None), ("0", "200"),
              turnaround_minutes=90, price_minor=25000),
    TestEntry("FILM", "Blood film comment", None, "blood", "text", turnaround_minutes=120, price_minor=50000),
    # chemistry
    TestEntry("GLU", "Glucose", "2345-7", "plasma", "numeric", "mg/dL", 0,
              ((None, "70", "99"),), ("40", "500"), ("5", "2000"), turnaround_minutes=30, price_minor=20000),
    TestEntry("HBA1C", "Haemoglobin A1c", "4548-4", "blood", "numeric", "%", 1,
              ((None, "4.0", "5.6"),), (None, None), ("2.0", "20.0"), turnaround_minutes=240,
              price_minor=150000),
    TestEntry("CREA", "Creatinine", "2160-0", "serum", "numeric", "mg/dL", 2,
              (("female", "0.59", "1.04"), ("male", "0.74", "1.35")), (None, "10.00"), ("0.10", "30.00"),
              price_minor=50000),
    TestEntry("BUN", "Urea nitrogen", "3094-0", "serum", "numeric", "mg/dL", 0,
              ((None, "7", "20"),), (None, "100"), ("1", "300"), price_minor=40000),
    TestEntry("NA", "Sodium", "2951-2", "serum", "numeric", "mmol/L", 0,
              ((None, "135", "145"),), ("120", "160"), ("80", "200"), price_minor=40000),
    TestEntry("K", "Potassium", "2823-3", "serum", "numeric", "mmol/L", 1,
              ((None, "3.5", "5.1"),), ("2.5", "6.5"), ("1.0", "15.0"), price_minor=40000),
    TestEntry("CL", "Chloride", "2075-0", "serum", "numeric", "mmol/L", 0,
              ((None, "98", "107"),), (None, None), ("50", "150"), price_minor=40000),
    TestEntry("ALT", "Alanine aminotransferase (ALT)", "1742-6", "serum", "numeric", "U/L", 0,
              ((None, "7", "56"),), (None, None), ("0", "10000"), price_minor=40000),
    TestEntry("AST", "Aspartate aminotransferase (AST)", "1920-8", "serum", "numeric", "U/L", 0,
              ((None, "10", "40"),), (None, None), ("0", "10000"), price_minor=40000),
    TestEntry("TBIL", "Bilirubin, total", "1975-2", "serum", "numeric", "mg/dL", 1,
              ((None, "0.1", "1.2"),), (None, "15.0"), ("0.0", "50.0"), price_minor=40000),
    TestEntry("CHOL", "Cholesterol, total", "2093-3", "serum", "numeric", "mg/dL", 0,
              ((None, None, "200"),), (None, None), ("20", "1000"),
              turnaround_minutes=120, price_minor=50000),
    TestEntry("HDL", "HDL cholesterol", "2085-9", "serum", "numeric", "mg/dL", 0,
              (("female", "50", None), ("male", "40", None)), (None, None), ("5", "200"),
              turnaround_minutes=120, price_minor=50000),
    TestEntry("LDL", "LDL cholesterol (calculated)", "13457-7", "serum", "numeric", "mg/dL", 0,
              ((None, None, "130"),), (None, None), ("0", "800"),
              turnaround_minutes=120, price_minor=50000),
    TestEntry("TG", "Triglycerides", "2571-8", "serum", "numeric", "mg/dL", 0,
              ((None, None, "150"),), (None, None), ("10", "5000"),
              turnaround_minutes=120, price_minor=50000),
    TestEntry("TSH", "Thyroid stimulating hormone (TSH)", "3016-3", "serum", "numeric", "mIU/L", 2,
              ((None, "0.40", "4.00"),), (None, None), ("0.00", "500.00"), turnaround_minutes=240,
              price_minor=120000),
    TestEntry("CRP", "C-reactive protein", "1988-5", "serum", "numeric", "mg/L", 1,
              ((None, "0.0", "5.0"),), (None, None), ("0.0", "600.0"), price_minor=80000),
    # urine (dipstick)
    TestEntry("UPRO", "Protein, urine dipstick", "2888-6", "urine", "choice", choices=DIPSTICK,
              turnaround_minutes=30, price_minor=10000),
    TestEntry("UGLU", "Glucose, urine dipstick", "2350-7", "urine", "choice", choices=DIPSTICK,
              turnaround_minutes=30, price_minor=10000),
    TestEntry("UPH", "pH, urine", "2756-5", "urine", "numeric", None, 1,
              ((None, "4.5", "8.0"),), (None, None), ("4.0", "9.5"),
              turnaround_minutes=30, price_minor=10000),
    TestEntry("USG", "Specific gravity, urine", "2965-2", "urine", "numeric", None, 3,
              ((None, "1.005", "1.030"),), (None, None), ("1.000", "1.060"), turnaround_minutes=30,
              price_minor=10000),
    TestEntry("ULEU", "Leukocyte esterase, urine", "5799-2", "urine", "choice", choices=DIPSTICK,
              turnaround_minutes=30, price_minor=10000),
    TestEntry("UNIT", "Nitrite, urine", "5802-4", "urine", "choice", choices=POS_NEG,
              turnaround_minutes=30, price_minor=10000),
    # rapid tests
    TestEntry("MRDT", "Malaria rapid test (P. falciparum antigen)", "70569-9", "blood", "choice",
              choices=RDT, turnaround_minutes=20, price_minor=30000),
    TestEntry("HIV", "HIV 1+2 antibody, rapid test", "31201-7", "blood", "choice", choices=RDT,
              turnaround_minutes=20, price_minor=0),
    TestEntry("HCG", "Pregnancy test (urine hCG)", "2106-3", "urine", "choice", choices=POS_NEG,
              turnaround_minutes=20, price_minor=20000),
)  # fmt: skip

PANELS: tuple[PanelEntry, ...] = (
    PanelEntry("FBC", "Full blood count", "58410-2", ("HB", "HCT", "WBC", "PLT", "MCV"), 80000),
    PanelEntry("KFT", "Kidney function", "24362-6", ("CREA", "BUN", "NA", "K", "CL"), 150000),
    PanelEntry("LFT", "Liver function", "24325-3", ("ALT", "AST", "TBIL"), 120000),
    PanelEntry("LIPID", "Lipid panel", "24331-1", ("CHOL", "HDL", "LDL", "TG"), 150000),
    PanelEntry("UA", "Urinalysis (dipstick)", "24357-6",
               ("UPRO", "UGLU", "UPH", "USG", "ULEU", "UNIT"), 30000),
)  # fmt: skip
