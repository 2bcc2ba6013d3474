"""An emulated AWS for this library's handlers, shared by the tests and the local rehearsal: moto plus the
Bedrock stand-in (``bedrock_stand_in``), which closes moto's gaps and emulates what moto lacks.

Needs the ``rehearse`` extra (moto): ``pip install 'cdk-bedrock-customization[rehearse]'``.
"""
