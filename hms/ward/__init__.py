"""Inpatient care pages shared by the roles that work on the wards (doctors, nurses, the front desk,
hospital administrators for the bed board): who may see and do what is decided per object by
hms.services.inpatient's predicates, and anyone else gets 404.

Modules: `board` (the bed board and its polls), `admit` (admitting, admission orders waiting for a
bed, giving a bed), `admission` (an admission's page: notes, vitals rounds, transfers, hand-over,
discharge summary and discharge). Their routes are attached to `bp` when imported in `routes`."""
