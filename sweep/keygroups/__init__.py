"""Key groups (重点人群): their schedules, workplaces, members, tests and compliance."""
