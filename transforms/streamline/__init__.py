"""Streamlining passes (Umuroglu & Jahre, "Streamlined Deployment for Quantized Neural Networks", 2017)."""
