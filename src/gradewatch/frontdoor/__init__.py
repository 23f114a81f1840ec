"""What stands in front of a school system: a single sign-on front door (CAS) and a transport
(WebVPN). Both are independent of the system adapter: the adapter only ever sees the school's own
URLs and a session that is already signed in."""
