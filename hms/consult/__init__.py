"""Consultations: chat and video calls between an appointment's patient and doctor."""
