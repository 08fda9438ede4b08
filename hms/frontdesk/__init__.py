"""The registration desk's pages, shared by receptionists (hms/staff/desk.py) and hospital administrators
(hms/hospital_admin/desk.py)."""
