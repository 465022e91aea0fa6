"""The lab: box receipt, results per tube, positive trace-back, individual retest orders."""
