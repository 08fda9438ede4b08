"""Pages for nurses, receptionists, pharmacists and lab technicians."""
