"""Export credit insurance inquiries (投保咨询): the domain library behind the Streamlit app."""
