"""Written requests (заявки) from subscribers: types with due dates, a queue, answers."""
