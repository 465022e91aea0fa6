"""The day in the field: readiness check-ins, tubes, scans, boxes and their handover."""
