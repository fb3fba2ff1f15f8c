"""Fits the float erf approximation used by org.nibble.kernels.VectorMath.erf (run: python3 fit_erf.py 1 6 11 4).

Region A, |x| < c: erf(x) = x + x * P(x^2), P fitted by relative least squares on Chebyshev nodes against mpmath.erf.
Region B, c <= |x| <= top: erf(x) = 1 - exp(-x^2) * Q(x - 2.5), Q fitted to erfc(x) * exp(x^2) the same way.
The script then evaluates the float32 pipeline (FMA Horner simulated by rounding a double fma to float) on a dense
grid over [0, 6] and prints the maximum absolute error and the float32 coefficients pasted into VectorMath.
"""
import numpy as np, mpmath as mp
mp.mp.dps=40
def fitA(deg, c):
    # erf(x)/x = P(x^2) on [0,c]
    xs=np.cos(np.linspace(0,np.pi,4000))*c/2+c/2; xs=xs[xs>1e-6]
    z=xs*xs
    f=np.array([float(mp.erf(mp.mpf(x))/mp.mpf(x)) for x in xs])
    # weighted least squares in monomial basis of z (relative)
    V=np.vander(z,deg+1,increasing=True)
    coef,*_=np.linalg.lstsq(V/f[:,None],np.ones_like(f),rcond=None)
    return coef
def fitB(deg, a, b):
    # erfc(x)*exp(x^2) = Q(t), t = 1/x on [1/b,1/a]
    xs=np.cos(np.linspace(0,np.pi,4000))*(b-a)/2+(a+b)/2
    t=xs-2.5
    f=np.array([float(mp.erfc(mp.mpf(x))*mp.exp(mp.mpf(x)**2)) for x in xs])
    tt=(t-(1/a+1/b)/2)  # centred
    V=np.vander(t,deg+1,increasing=True)
    coef,*_=np.linalg.lstsq(V/f[:,None],np.ones_like(f),rcond=None)
    return coef
def horner32(coef, z):
    z=np.float32(z); p=np.float32(coef[-1])*np.ones_like(z)
    for c in coef[-2::-1]:
        p=(p.astype(np.float64)*z.astype(np.float64)+np.float64(np.float32(c))).astype(np.float32)
    return p.astype(np.float32)
import sys
c=float(sys.argv[1]); da=int(sys.argv[2]); db=int(sys.argv[3]); top=float(sys.argv[4])
A=fitA(da,c); B=fitB(db,c,top)
xs=np.linspace(0,6,200001).astype(np.float32)
ref=np.array([float(mp.erf(mp.mpf(float(x)))) for x in xs[::7]])
xsub=xs[::7]
za=(xsub*xsub).astype(np.float32)
A1=A.copy(); A1[0]-=1.0
ya=(xsub.astype(np.float64)*horner32(A1,za).astype(np.float64)+xsub.astype(np.float64)).astype(np.float32)
xb=np.minimum(xsub,np.float32(top)).astype(np.float32)
q=horner32(B,(xb-np.float32(2.5)).astype(np.float32))
e=np.exp(-(xb.astype(np.float64)*xb)).astype(np.float32)  # float exp of float -x^2
xb2=(xb*xb).astype(np.float32)
e=np.exp(-xb2.astype(np.float64)).astype(np.float32)
yb=(1.0-e.astype(np.float64)*q.astype(np.float64)).astype(np.float32)
y=np.where(xsub<c,ya,yb)
err=np.abs(y-ref); i=np.argmax(err)
print("maxabs",err.max(),"at",xsub[i]," maxabs A",err[xsub<c].max()," B",err[xsub>=c].max())
rel=err[(xsub>0)&(xsub<c)]/np.abs(ref[(xsub>0)&(xsub<c)]); print("max rel A", rel.max())
print("A=",[repr(float(v)) for v in A]); print("B=",[repr(float(v)) for v in B])
print("A32=", ", ".join(repr(float(np.float32(v)))+"f" for v in A1))
print("B32=", ", ".join(repr(float(np.float32(v)))+"f" for v in B))
