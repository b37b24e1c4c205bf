"""The bid opening (开标): the ceremony rules the hall, the API and the scheduler share."""
