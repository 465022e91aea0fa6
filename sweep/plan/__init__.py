"""The plan of a round: which sites open, with how many desks, who is called when, who staffs them."""
