"""Everything that comes into a store from a file a bureau receives.

Entry points:

- :func:`import_file` (``geo.intake.ledger``): a site ledger (台账) — xlsx, xls, csv, GeoJSON, zipped
  Shapefile, GeoPackage, KML/KMZ, GPX — checked row by row and written in one unit, or not at all;
- :func:`geo.intake.lab.import_lab_file`: laboratory readings (long layout: point, time, parameter, value, unit);
- :func:`geo.intake.platform.import_platform` / :func:`geo.intake.platform.import_section_classes`: the national
  water platform's wide exports and JSON, and its monthly section tables;
- :func:`geo.intake.track.import_track`: a GPX track as the route an inspection took;
- :mod:`geo.intake.datum`: which datum typed coordinates are in (never assumed);
- :mod:`geo.intake.report`: the one finding type (:class:`Finding`) and the one report of every import.

The ledger's pipeline (read, map headers, prepare, commit) is named here too, because the /data page
shows a preview between its steps.
"""
from .ledger import (  # noqa: F401 (the package's entry points)
    IMPORT_LAYERS, Intake, IntakeError, Ledger, auto_mapping, commit, commit_if_unchanged, decode_text, field_label,
    fields_of, import_file, parse_class, parse_code, parse_coord, parse_date, parse_number, parse_status,
    prepare, prepare_for_store, read_ledger,
)
from .report import Finding  # noqa: F401
